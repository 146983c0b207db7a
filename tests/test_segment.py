from __future__ import annotations

import json
import math
import pickle
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from civictext.errors import ConfigError, ResourceError
from civictext.segment import Segmenter, packaged_dict_path, read_user_dict

from .conftest import corpus_records, shared_file

# Chinese, Latin, digits, punctuation and whitespace, mixed.
MIXED = st.text(
    alphabet=st.one_of(
        st.characters(min_codepoint=0x4E00, max_codepoint=0x9FA5),
        st.sampled_from(list("abcXYZ0123456789.-+#&%_ ,，。！？、：；“”（）()\n\t\u3000１２Ａ")),
    ),
    max_size=80,
)


@pytest.fixture(scope="module", params=["jieba", "rjieba"])
def seg(request: pytest.FixtureRequest) -> Segmenter:
    return Segmenter(backend=request.param).load()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("小区三号楼停水两天了", ["小区", "三号", "楼", "停水", "两天", "了"]),
        ("二次供水加压泵坏了", ["二次供水", "加压泵", "坏", "了"]),
        ("打12345热线没人管", ["打", "12345热线", "没人管"]),
        ("业委会挪用维修基金", ["业委会", "挪用", "维修基金"]),
    ],
)
def test_governance_words_stay_whole(seg: Segmenter, text: str, expected: list[str]) -> None:
    assert seg.cut(text) == expected


@given(MIXED)
@settings(max_examples=200, deadline=None)
def test_offsets_index_the_input(text: str) -> None:
    for backend in ("jieba", "rjieba"):
        tokens = Segmenter(backend=backend).tokenize(text)
        assert "".join(t.text for t in tokens) == text
        for t in tokens:
            assert text[t.start : t.end] == t.text


@given(MIXED)
@settings(max_examples=300, deadline=None)
def test_backends_identical_without_hmm_on_random_strings(text: str) -> None:
    _assert_identical([text])


def _logprob(freq: dict[str, int], total: int, words: list[str]) -> float:
    return sum(math.log(freq.get(w) or 1) - math.log(total) for w in words)


def _assert_identical(texts: list[str]) -> list[str]:
    """Assert both backends give the same tokens and offsets; return the texts where they
    differ only between two segmentations of exactly equal probability (a tie, e.g. 好好好 as
    好好/好 or 好/好好, 掏心/掏 or 掏/心掏), which floating-point rounding decides differently in the two
    implementations. Any other difference fails."""
    jb = Segmenter(backend="jieba", hmm=False)
    rj = Segmenter(backend="rjieba", hmm=False)
    freq, total = jb.engine.impl.FREQ, jb.engine.impl.total
    ties = []
    for t in texts:
        a, b = jb.tokenize(t), rj.tokenize(t)
        if a == b:
            continue
        wa, wb = [x.text for x in a], [x.text for x in b]
        assert "".join(wb) == t and all(t[x.start : x.end] == x.text for x in b)
        pa, pb = _logprob(freq, total, wa), _logprob(freq, total, wb)
        assert math.isclose(pa, pb, rel_tol=1e-12), f"backends differ beyond a tie on {t[:60]!r}: {pa} vs {pb}"
        ties.append(t)
    return ties


def test_backends_identical_on_our_corpus() -> None:
    texts = [r["text"] for r in corpus_records()]
    assert len(texts) > 100
    ties = _assert_identical(texts)
    assert len(ties) <= len(texts) // 500


@pytest.mark.shared
def test_backends_identical_on_real_citizen_messages() -> None:
    path = shared_file("teddycup2020-messages/train.jsonl")
    texts = [json.loads(line)["text"] for line in path.read_text(encoding="utf-8").splitlines()]
    ties = _assert_identical(texts)
    # measured: 2 of 7,366 messages, both reduplications (轰轰轰, 好好好)
    assert len(ties) <= 10


def test_backends_identical_without_user_dictionary_on_real_messages() -> None:
    path = shared_file("teddycup2020-messages/train.jsonl")
    jb = Segmenter(backend="jieba", governance_dict=False)
    rj = Segmenter(backend="rjieba", governance_dict=False)
    for line in path.read_text(encoding="utf-8").splitlines():
        text = json.loads(line)["text"]
        assert jb.tokenize(text) == rj.tokenize(text), text[:60]


def test_auto_backend_rule() -> None:
    assert Segmenter(backend="auto", hmm=False).resolved_backend == "rjieba"
    assert Segmenter(backend="auto", hmm=True).resolved_backend == "jieba"
    assert Segmenter(backend="jieba").resolved_backend == "jieba"


def test_invalid_parameters_are_named() -> None:
    with pytest.raises(ConfigError, match="backend.*pkuseg"):
        Segmenter(backend="pkuseg").cut("停水")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="mode"):
        Segmenter(mode="full").cut("停水")  # type: ignore[arg-type]


def test_pickle_drops_engine_and_rebuilds(seg: Segmenter) -> None:
    text = "锦绣江山小区业委会"
    expected = seg.cut(text)
    clone = pickle.loads(pickle.dumps(seg))
    assert clone._engine is None
    assert clone.cut(text) == expected
    assert clone == seg


def test_user_dict_is_honoured_by_both_backends(tmp_path: Path) -> None:
    d = tmp_path / "places.txt"
    d.write_text("锦绣江山小区 5000 ns\n芦淞区 3000 ns\n", encoding="utf-8")
    for backend in ("jieba", "rjieba"):
        seg = Segmenter(backend=backend, user_dicts=[str(d)])
        assert seg.cut("芦淞区锦绣江山小区停水") == ["芦淞区", "锦绣江山小区", "停水"]
    # the packaged governance dictionary alone does not know the compound
    assert "锦绣江山小区" not in Segmenter().cut("芦淞区锦绣江山小区停水")


@pytest.mark.parametrize(
    ("line", "problem"),
    [
        ("Edu Trust认证 100 n", "expected 'word freq"),
        ("停水 lots n", "frequency must be a positive integer"),
        ("停水 0 n", "frequency must be a positive integer"),
        ("停水 10 N1", "tag must be lower-case"),
        ("停。水 10 n", "never be found"),
    ],
)
def test_bad_user_dict_lines_name_file_and_line(tmp_path: Path, line: str, problem: str) -> None:
    d = tmp_path / "bad.txt"
    d.write_text(f"# comment\n自来水 10 n\n{line}\n", encoding="utf-8")
    with pytest.raises(ResourceError, match=rf"bad.txt:3: .*{problem}"):
        read_user_dict(d)


def test_missing_user_dict() -> None:
    with pytest.raises(ResourceError, match="not found"):
        Segmenter(backend="jieba", user_dicts=["/nonexistent/dict.txt"]).cut("停水")


def test_packaged_dictionary_is_valid() -> None:
    entries = read_user_dict(packaged_dict_path())
    assert len(entries) > 150
    assert len({e.word for e in entries}) == len(entries)


def test_pos_tags(seg: Segmenter) -> None:
    tags = dict(seg.tag("水务集团停水"))
    assert tags["水务集团"] == "nt"


def test_search_mode_adds_inner_words() -> None:
    words = [t.text for t in Segmenter(mode="search").tokenize("中华人民共和国")]
    assert "中华" in words and "中华人民共和国" in words


def test_rejects_non_string(seg: Segmenter) -> None:
    with pytest.raises(TypeError):
        seg.cut(b"bytes")  # type: ignore[arg-type]
