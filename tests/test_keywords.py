from __future__ import annotations

import json

from typer.testing import CliRunner

from civictext.cli import app
from civictext.keywords import KeywordExtractor

from .conftest import corpus_records


def test_tfidf_prefers_words_rare_in_the_corpus() -> None:
    ex = KeywordExtractor().fit([r["text"] for r in corpus_records()])
    kws = [k.word for k in ex.tfidf("小区二次供水的水泵坏了，物业说要等水务集团来修，二次供水停了三天", top=5)]
    assert kws[0] == "二次供水"
    assert "的" not in kws and all(len(w) >= 2 for w in kws)


def test_textrank_ranks_connected_content_words() -> None:
    kws = KeywordExtractor().textrank("托育机构收费太高，托育机构名额太少，家长希望政府多建普惠托育机构", top=3)
    assert kws[0].word == "托育机构" and kws[0].score == 1.0


def test_cli_json_and_empty_input() -> None:
    res = CliRunner().invoke(app, ["keywords", "小区停水三天了，自来水公司和物业互相推诿", "--json", "--top", "3"])
    assert res.exit_code == 0, res.stderr
    data = json.loads(res.stdout)
    assert set(data) == {"tfidf", "textrank"} and len(data["tfidf"]) <= 3
    res = CliRunner().invoke(app, ["keywords", "   "])
    assert res.exit_code == 2 and "empty" in res.stderr
