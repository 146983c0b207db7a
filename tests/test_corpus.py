from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from civictext.corpus import ReadReport, iter_records, read_labelled
from civictext.errors import InputError


def _write(path: Path, lines: list[str | bytes]) -> Path:
    data = b"".join((x if isinstance(x, bytes) else x.encode("utf-8")) + b"\n" for x in lines)
    path.write_bytes(data)
    return path


def test_jsonl_with_planted_bad_lines_counts_add_up(tmp_path: Path) -> None:
    path = _write(
        tmp_path / "d.jsonl",
        [
            json.dumps({"id": "a", "text": "小区停水了", "label": "water_supply"}, ensure_ascii=False),
            "{not json",
            json.dumps({"text": "   ", "label": "other"}),
            json.dumps({"text": "没有标签"}, ensure_ascii=False),
            b"\xff\xfe broken bytes",
            json.dumps(["a", "list"]),
            json.dumps({"text": "两类", "labels": ["water_supply", "property_management"]}, ensure_ascii=False),
            json.dumps({"text": "坏标签", "labels": "water_supply"}, ensure_ascii=False),
            "",
            json.dumps({"id": 7, "text": "最后一条", "label": "other", "register": "news"}, ensure_ascii=False),
        ],
    )
    records, report = read_labelled([path])
    assert [r.line for r in records] == [1, 7, 10]
    assert report.read == 9 and report.accepted == 3 and report.rejected == 6
    assert report.read == report.accepted + report.rejected
    joined = "\n".join(report.problems)
    for lineno, problem in [
        (2, "invalid JSON"),
        (3, "empty text"),
        (4, "missing 'label'"),
        (5, "not valid UTF-8"),
        (6, "expected a JSON object"),
        (8, "'labels' must be"),
    ]:
        assert f"d.jsonl:{lineno}: {problem}" in joined
    assert records[1].labels == ("water_supply", "property_management")
    assert records[2].id == "7" and records[2].meta == {"register": "news"}


def test_strict_makes_the_first_bad_line_fatal(tmp_path: Path) -> None:
    path = _write(tmp_path / "d.jsonl", ['{"text": "好", "label": "other"}', "{oops"])
    with pytest.raises(InputError, match=r"d.jsonl:2: invalid JSON"):
        read_labelled([path], strict=True)


def test_primary_label_goes_first(tmp_path: Path) -> None:
    path = _write(
        tmp_path / "d.jsonl",
        [json.dumps({"text": "x", "label": "b", "labels": ["a", "b"]})],
    )
    (rec,), _ = read_labelled([path])
    assert rec.labels == ("b", "a")


def test_csv(tmp_path: Path) -> None:
    path = tmp_path / "d.csv"
    path.write_text(
        'text,label\n"停水,三天",water_supply\n,other\n托育费太贵,childcare|economy_finance\n',
        encoding="utf-8",
    )
    records, report = read_labelled([path])
    assert [r.text for r in records] == ["停水,三天", "托育费太贵"]
    assert records[1].labels == ("childcare", "economy_finance")
    assert report.rejected == 1 and "d.csv:3: empty text" in report.problems[0]


def test_csv_without_label_column(tmp_path: Path) -> None:
    path = tmp_path / "d.csv"
    path.write_text("text,category\n停水,water\n", encoding="utf-8")
    with pytest.raises(InputError, match="lacks column"):
        read_labelled([path])


def test_thucnews_layout(tmp_path: Path) -> None:
    (tmp_path / "class.txt").write_text("finance\nsports\n", encoding="utf-8")
    path = _write(tmp_path / "train.txt", ["股市大涨\t0", "球队夺冠\t1", "坏行\t9", "没有制表符"])
    records, report = read_labelled([path])
    assert [(r.text, r.label) for r in records] == [("股市大涨", "finance"), ("球队夺冠", "sports")]
    assert report.rejected == 2
    assert "train.txt:3: label index '9'" in report.problems[0]


def test_gzip_jsonl(tmp_path: Path) -> None:
    path = tmp_path / "d.jsonl.gz"
    with gzip.open(path, "wt", encoding="utf-8") as fh:
        fh.write('{"text": "停水", "label": "water_supply"}\n')
    records, _ = read_labelled([path])
    assert records[0].label == "water_supply"


def test_unknown_format_and_missing_file(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="not found"):
        list(iter_records(tmp_path / "nope.jsonl"))
    other = _write(tmp_path / "data.xyz", ["a"])
    with pytest.raises(InputError, match="--format"):
        list(iter_records(other))


def test_unlabelled_reading(tmp_path: Path) -> None:
    path = _write(tmp_path / "d.jsonl", ['{"text": "只有文本"}'])
    report = ReadReport()
    (rec,) = list(iter_records(path, labelled=False, report=report))
    assert rec.text == "只有文本" and rec.labels == ()


def test_doccano_classification_export_reads_as_is(tmp_path: Path) -> None:
    path = _write(tmp_path / "doccano.jsonl", [json.dumps({"id": 3, "text": "停水", "label": ["water_supply"]})])
    (rec,), report = read_labelled([path])
    assert rec.labels == ("water_supply",) and report.rejected == 0
