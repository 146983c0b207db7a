"""Round trips between civictext, doccano, Label Studio, CLUENER; DocBin export."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from civictext.annotations import read_annotations, write_annotations
from civictext.cli import app
from civictext.errors import InputError

from .conftest import corpus_records, shared_file


@pytest.fixture()
def ours(tmp_path: Path) -> Path:
    rows = [r for r in corpus_records() if r.get("entities")][:30]
    path = tmp_path / "ours.jsonl"
    path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\n", encoding="utf-8")
    return path


@pytest.mark.parametrize("fmt", ["civictext", "doccano", "labelstudio"])
def test_round_trip_keeps_labels_and_spans(ours: Path, tmp_path: Path, fmt: str) -> None:
    original = read_annotations(ours, "civictext")
    out = tmp_path / f"x.{fmt}"
    write_annotations(original, out, fmt)
    back = read_annotations(out, fmt)
    assert [(r["text"], r["labels"], r["spans"]) for r in back] == [
        (r["text"], r["labels"], r["spans"]) for r in original
    ]
    assert all(r["text"][s:e] for r in back for s, e, _ in r["spans"])


def test_cluener_round_trip_maps_types(ours: Path, tmp_path: Path) -> None:
    original = read_annotations(ours, "civictext")
    write_annotations(original, tmp_path / "c.jsonl", "cluener")
    first = json.loads((tmp_path / "c.jsonl").read_text(encoding="utf-8").splitlines()[0])
    assert set(first["label"]) <= {"address", "organization", "name", "phone"}
    back = read_annotations(tmp_path / "c.jsonl", "cluener")
    assert [r["spans"] for r in back] == [r["spans"] for r in original]


def test_docbin_export(ours: Path, tmp_path: Path) -> None:
    from spacy.tokens import DocBin

    from civictext.entities import build_blank

    original = read_annotations(ours, "civictext")
    write_annotations(original, tmp_path / "x.spacy", "docbin")
    docs = list(DocBin().from_disk(tmp_path / "x.spacy").get_docs(build_blank().vocab))
    assert len(docs) == len(original) and docs[0].text == original[0]["text"]
    assert sum(len(d.ents) for d in docs) >= 0.9 * sum(len(r["spans"]) for r in original)
    assert list(docs[0].user_data["labels"]) == original[0]["labels"]


def test_errors_name_the_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text(
        '{"text": "停水", "label": ["water_supply"]}\n{"text": "停水", "label": [[0, 9, "ORG"]]}\n', encoding="utf-8"
    )
    with pytest.raises(InputError, match="bad.jsonl:2: span"):
        read_annotations(bad, "doccano")
    res = CliRunner().invoke(
        app, ["convert", str(bad), "--out", str(tmp_path / "o"), "--from", "nope", "--to", "doccano"]
    )
    assert res.exit_code == 2 and "invalid input format" in res.stderr


def test_cli_convert(ours: Path, tmp_path: Path) -> None:
    res = CliRunner().invoke(
        app, ["convert", str(ours), "--out", str(tmp_path / "d.jsonl"), "--from", "civictext", "--to", "doccano"]
    )
    assert res.exit_code == 0 and "30 records" in res.stderr


@pytest.mark.shared
def test_reads_real_cluener() -> None:
    recs = read_annotations(shared_file("cluener2020/dev.jsonl"), "cluener")
    assert len(recs) == 1000 and all(r["text"][s:e] for r in recs for s, e, _ in r["spans"])
