"""Hand labels of real messages kept as (line number, label) only, joined to their texts at run time.

The source data has no licence that lets us ship its text, so
``corpus/teddycup2020_labels.tsv`` stores only 1-based line numbers of
``../shared/data/teddycup2020-messages/train.jsonl`` and our labels; this module reads
the TSV, checks the source file's sha256 and yields labelled records.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from .corpus import LabelledRecord
from .errors import InputError
from .segment import file_sha256

TEDDYCUP_SHA256 = "a5f90174d073158ed2b9b309ff863d614511455a91de2a85a3ca1bbd0e804378"


def read_label_table(path: str | os.PathLike[str]) -> dict[int, str]:
    """``line -> label`` from a TSV with ``#`` comments and a ``line<TAB>label[<TAB>note]`` header."""
    table: dict[int, str] = {}
    p = Path(path)
    header_seen = False
    for lineno, row in enumerate(p.read_text(encoding="utf-8").splitlines(), 1):
        if not row.strip() or row.startswith("#"):
            continue
        cols = row.split("\t")
        if not header_seen:
            if cols[:2] != ["line", "label"]:
                raise InputError(f"{p}:{lineno}: expected header 'line<TAB>label', got {row!r}")
            header_seen = True
            continue
        if len(cols) < 2 or not cols[0].isdigit() or not cols[1]:
            raise InputError(f"{p}:{lineno}: expected '<line number><TAB><label>', got {row!r}")
        n = int(cols[0])
        if n in table:
            raise InputError(f"{p}:{lineno}: line {n} labelled twice")
        table[n] = cols[1]
    return table


def join_hand_labels(
    labels_path: str | os.PathLike[str],
    source_path: str | os.PathLike[str],
    *,
    expected_sha256: str | None = None,
) -> list[LabelledRecord]:
    """Labelled records: the source file's texts at the labelled line numbers, with our labels."""
    src = Path(source_path)
    if not src.is_file():
        raise InputError(f"source data not found: {src}")
    if expected_sha256 and file_sha256(src) != expected_sha256:
        raise InputError(f"{src}: sha256 differs from {expected_sha256[:16]}… that the hand labels were made on")
    table = read_label_table(labels_path)
    records = []
    with open(src, encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, 1):
            if lineno in table:
                obj = json.loads(line)
                records.append(LabelledRecord(obj.get("id"), obj["text"], (table[lineno],), str(src), lineno))
    missing = sorted(set(table) - {r.line for r in records})
    if missing:
        raise InputError(f"{labels_path}: line numbers beyond the end of {src}: {missing[:5]}")
    return records
