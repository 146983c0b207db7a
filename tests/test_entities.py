from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from civictext.entities import (
    EntityExtractor,
    _Candidate,
    build_blank,
    entity_scores,
    merge_candidates,
    normalize_districts,
    normalize_orgs,
    read_entity_examples,
    save_entity_model,
    spans_from_surfaces,
    train_entity_model,
)
from civictext.gazetteer import load_admin_gazetteer, load_offices
from civictext.normalize import normalize
from civictext.record import Entity

from .conftest import corpus_records, shared_file

TEXTS = st.text(
    alphabet=st.one_of(
        st.characters(min_codepoint=0x4E00, max_codepoint=0x9FA5),
        st.sampled_from(list("株洲市芦淞区刘女士电话138****5621０１２３ＡａA3区，。！\n\t \u3000\x00")),
    ),
    max_size=60,
)


@pytest.fixture(scope="module")
def rules() -> EntityExtractor:
    return EntityExtractor.rules_only()


@given(TEXTS)
@settings(max_examples=150, deadline=None)
def test_tokenizer_keeps_the_original_text(text: str) -> None:
    doc = build_blank()(text)
    assert doc.text == text
    assert [t.norm_ for t in doc] == [normalize(t.text) for t in doc]


@given(TEXTS)
@settings(max_examples=150, deadline=None)
def test_offsets_always_index_the_original_string(text: str) -> None:
    for e in EntityExtractor.rules_only().extract(text):
        assert text[e.start : e.end] == e.text


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("电话13873312345", [("PHONE", "13873312345")]),
        ("联系138****5621", [("PHONE", "138****5621")]),
        ("座机0731-28881234", [("PHONE", "0731-28881234")]),
        ("打１２３４５没用", [("PHONE", "１２３４５")]),
        ("花了120元", []),
        ("拨打120急救", [("PHONE", "120")]),
        ("刘女士反映", [("PERSON", "刘女士")]),
        ("曹主任说", [("PERSON", "曹主任")]),
        ("施工两小时", []),
        ("老师们", []),
        ("A3区停水", [("DISTRICT", "A3区")]),
        ("Ａ市的小区", [("DISTRICT", "Ａ市")]),
    ],
)
def test_patterns(rules: EntityExtractor, text: str, expected: list[tuple[str, str]]) -> None:
    got = [(e.type, e.text) for e in rules.extract(text) if e.source == "rule:pattern"]
    assert got == expected


def test_gazetteer_chain_and_code(rules: EntityExtractor) -> None:
    ents = rules.extract("株洲市芦淞区庆云街道停水")
    lusong = next(e for e in ents if e.text == "芦淞区")
    assert lusong.normalized is not None
    assert lusong.normalized["chain"] == ["湖南省", "株洲市", "芦淞区"]
    assert lusong.normalized["code"] == "430203"


def test_ambiguous_names_are_resolved_from_context_or_left_unresolved(rules: EntityExtractor) -> None:
    (alone,) = [e for e in rules.extract("朝阳区停水了") if e.type == "DISTRICT"]
    assert alone.normalized and alone.normalized["ambiguous"] is True
    assert len(alone.normalized["candidates"]) >= 2 and "code" not in alone.normalized
    ents = rules.extract("长春市朝阳区停水了")
    chaoyang = next(e for e in ents if e.text == "朝阳区")
    assert chaoyang.normalized is not None
    assert (
        chaoyang.normalized["chain"] == ["吉林省", "长春市", "朝阳区"]
        and chaoyang.normalized["resolved_by"] == "context"
    )


def test_unlisted_places_get_a_level_guess() -> None:
    gaz = load_admin_gazetteer()
    (e,) = normalize_districts([Entity("DISTRICT", "锦绣江山小区", 0, 6)], gaz)
    assert e.normalized == {"level": "compound"}


@pytest.mark.parametrize(
    ("org", "office"),
    [
        ("市卫健委", "health_commission"),
        ("芦淞区卫生健康局", "health_commission"),
        ("株洲市水务集团", "water_company"),
        ("锦绣江山小区业委会", "owners_committee"),
        ("某某超市", None),
    ],
)
def test_orgs_resolve_to_offices(org: str, office: str | None) -> None:
    (e,) = normalize_orgs([Entity("ORG", org, 0, len(org))], load_offices())
    assert (e.normalized or {}).get("office") == office


def test_merge_longest_wins_and_rules_outrank_model_at_equal_length() -> None:
    c = [
        _Candidate(0, 3, "DISTRICT", "rule:gazetteer"),
        _Candidate(0, 7, "ORG", "model"),
        _Candidate(8, 11, "ORG", "model"),
        _Candidate(8, 11, "PERSON", "rule:pattern"),
    ]
    assert [(m.start, m.end, m.label) for m in merge_candidates(c)] == [(0, 7, "ORG"), (8, 11, "PERSON")]


def test_gold_spans_from_surfaces_take_every_occurrence_longest_first() -> None:
    text = "株洲市水务集团说株洲市停水"
    spans = spans_from_surfaces(text, [["株洲市", "DISTRICT"], ["株洲市水务集团", "ORG"]])
    assert spans == [(0, 7, "ORG"), (8, 11, "DISTRICT")]


def test_read_cluener_maps_types_and_inclusive_ends(tmp_path: Path) -> None:
    path = tmp_path / "c.jsonl"
    rows = [
        {
            "text": "张三在北京市海淀区工作",
            "label": {"name": {"张三": [[0, 1]]}, "address": {"北京市海淀区": [[3, 8]]}},
        },
        {"text": "坏数据", "label": {"name": {"张三": [[0, 1]]}}},
        {"text": "玩游戏", "label": {"game": {"游戏": [[1, 2]]}}},
    ]
    path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\n{oops\n", encoding="utf-8")
    examples, problems = read_entity_examples(path)
    assert [e.spans for e in examples] == [[(0, 2, "PERSON"), (3, 9, "DISTRICT")], []]
    assert len(problems) == 2 and "c.jsonl:2" in problems[0] and "c.jsonl:4" in problems[1]


def test_scores() -> None:
    m = entity_scores([[(0, 2, "PERSON"), (3, 5, "ORG")]], [[(0, 2, "PERSON"), (3, 6, "ORG")]])
    assert m["per_type"]["PERSON"]["f1"] == 1.0 and m["per_type"]["ORG"]["f1"] == 0.0
    assert m["micro"]["precision"] == 0.5


def test_train_save_load_extract(tmp_path: Path) -> None:
    records = [r for r in corpus_records() if r.get("entities")][:60]
    from civictext.entities import EntityExample

    examples = [EntityExample(r["text"], spans_from_surfaces(r["text"], r["entities"]), r["id"]) for r in records]
    nlp, report = train_entity_model(examples, epochs=2)
    assert report["examples"] == 60 and len(report["losses"]) == 2
    save_entity_model(nlp, tmp_path / "entities", meta=report)
    loaded = EntityExtractor.load(tmp_path / "entities")
    assert loaded.has_model
    text = records[0]["text"]
    for e in loaded.extract(text):
        assert text[e.start : e.end] == e.text


def test_default_model_extracts_orgs_and_people(default_model_dir: Path) -> None:
    from civictext.entities import load_extractor

    ex = load_extractor(default_model_dir)
    assert ex.has_model
    text = "株洲市芦淞区锦绣江山小区停水三天了，刘女士打了12345，市卫健委和株洲市水务集团都没人管。电话138****5621"
    ents = {(e.type, e.text) for e in ex.extract(text)}
    assert {
        ("DISTRICT", "株洲市"),
        ("DISTRICT", "芦淞区"),
        ("PERSON", "刘女士"),
        ("PHONE", "12345"),
        ("PHONE", "138****5621"),
    } <= ents
    assert any(t == "ORG" for t, _ in ents)


@pytest.mark.parametrize(
    "text",
    ["", "，。！？……", "台灣省臺北市的自來水停了", "abc 123 ABC", "电话：１３８１２３４５６７８", "停" * 200_000],
)
def test_bad_inputs_do_not_crash(rules: EntityExtractor, text: str) -> None:
    for e in rules.extract(text):
        assert text[e.start : e.end] == e.text


@pytest.mark.shared
def test_cluener_dev_reads_and_scores(default_model_dir: Path) -> None:
    from civictext.entities import evaluate_extractor, load_extractor

    examples, problems = read_entity_examples(shared_file("cluener2020/dev.jsonl"))
    assert len(examples) == 1000 and not problems
    m = evaluate_extractor(load_extractor(default_model_dir), examples[:100], types=("DISTRICT", "ORG", "PERSON"))
    assert m["n"] == 100 and 0 < m["micro"]["f1"] < 1


def test_missing_or_corrupt_entity_model_and_office_table(tmp_path: Path, default_model_dir: Path) -> None:
    import shutil

    from civictext.entities import load_extractor
    from civictext.errors import ArtifactError, ResourceError

    with pytest.raises(ArtifactError, match="not found"):
        load_extractor(tmp_path / "nowhere")
    bad = tmp_path / "bad"
    shutil.copytree(default_model_dir / "entities", bad / "entities")
    (bad / "entities" / "config.cfg").write_text("[nlp\nbroken", encoding="utf-8")
    with pytest.raises(ArtifactError, match="cannot be loaded"):
        load_extractor(bad)
    table = tmp_path / "offices.toml"
    table.write_text("[[office]]\nid = 3\n", encoding="utf-8")
    with pytest.raises(ResourceError, match="needs string 'id'"):
        load_offices(str(table))
    table.write_text("not toml [", encoding="utf-8")
    with pytest.raises(ResourceError, match="cannot read office table"):
        load_offices(str(table))
