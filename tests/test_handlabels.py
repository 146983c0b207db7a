from __future__ import annotations

from pathlib import Path

import pytest

from civictext.errors import InputError
from civictext.handlabels import TEDDYCUP_SHA256, join_hand_labels, read_label_table
from civictext.taxonomy import load_taxonomy

from .conftest import CORPUS, shared_file

LABELS = CORPUS / "teddycup2020_labels.tsv"


def test_hand_label_table_holds_no_message_text() -> None:
    table = read_label_table(LABELS)
    assert len(table) >= 200
    assert set(table.values()) <= set(load_taxonomy().ids)
    for row in LABELS.read_text(encoding="utf-8").splitlines():
        if not row.startswith("#"):
            assert row.isascii(), f"non-ASCII (possibly copied text) in {row!r}"


@pytest.mark.shared
def test_join_and_evaluate_default_model(default_model_dir: Path) -> None:
    from civictext.artifacts import load_model
    from civictext.classify import evaluate_classifier

    source = shared_file("teddycup2020-messages/train.jsonl")
    records = join_hand_labels(LABELS, source, expected_sha256=TEDDYCUP_SHA256)
    assert len(records) == len(read_label_table(LABELS))
    metrics = evaluate_classifier(load_model(default_model_dir).classifier, records)
    assert metrics["n"] >= 200 and 0 <= metrics["macro_f1"] <= 1


def test_bad_tables_are_reported(tmp_path: Path) -> None:
    bad = tmp_path / "labels.tsv"
    bad.write_text("line\tlabel\n12\twater_supply\nx\tother\n", encoding="utf-8")
    with pytest.raises(InputError, match="labels.tsv:3"):
        read_label_table(bad)
    dup = tmp_path / "dup.tsv"
    dup.write_text("line\tlabel\n3\tother\n3\tother\n", encoding="utf-8")
    with pytest.raises(InputError, match="labelled twice"):
        read_label_table(dup)
    src = tmp_path / "src.jsonl"
    src.write_text('{"text": "a"}\n', encoding="utf-8")
    with pytest.raises(InputError, match="sha256 differs"):
        join_hand_labels(dup.with_name("ok.tsv"), src, expected_sha256="0" * 64)
