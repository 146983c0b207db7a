"""Streaming readers for labelled and unlabelled text records.

Formats
-------
``jsonl``
    One JSON object per line with ``text`` and ``label`` (a string) or ``labels`` (a
    list, primary first; multi-label), optional ``id``. Other fields are kept as meta.
    doccano's text-classification export (``label`` as a list of strings) reads as is.
``csv``
    Columns ``text,label`` (optional ``id``; ``label`` may hold several labels joined by ``|``).
``thucnews``
    ``text<TAB>label_index`` lines with a ``class.txt`` beside the file mapping indices
    (line number, from 0) to label names.

A malformed line is reported with its file and line number. With ``strict=True`` the
first one raises :class:`~civictext.errors.InputError`; otherwise it is skipped and
counted in the :class:`ReadReport`.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Literal

from .errors import InputError, value_invalid_msg

DataFormat = Literal["auto", "jsonl", "csv", "thucnews"]
FORMATS = ("auto", "jsonl", "csv", "thucnews")


@dataclass(frozen=True)
class LabelledRecord:
    """A text with one or more labels (primary first) and where it came from."""

    id: str | None
    text: str
    labels: tuple[str, ...]
    source: str
    line: int
    meta: dict[str, Any] = field(default_factory=dict, compare=False)

    @property
    def label(self) -> str:
        return self.labels[0]


@dataclass
class ReadReport:
    """Counts of one read: ``read == accepted + rejected`` always holds."""

    read: int = 0
    accepted: int = 0
    rejected: int = 0
    problems: list[str] = field(default_factory=list)

    def reject(self, where: str, message: str) -> None:
        self.rejected += 1
        self.problems.append(f"{where}: {message}")

    def merge(self, other: ReadReport) -> None:
        self.read += other.read
        self.accepted += other.accepted
        self.rejected += other.rejected
        self.problems.extend(other.problems)

    def summary(self) -> str:
        return f"read {self.read} records: {self.accepted} accepted, {self.rejected} rejected"


def open_text(path: str | os.PathLike[str]) -> IO[str]:
    """Open a UTF-8 text file (``.gz`` transparently), BOM stripped; decoding errors surface per line."""
    p = Path(path)
    if p.suffix == ".gz":
        return io.TextIOWrapper(gzip.open(p, "rb"), encoding="utf-8-sig", errors="strict", newline="")
    return open(p, encoding="utf-8-sig", errors="strict", newline="")


def detect_format(path: str | os.PathLike[str]) -> str:
    p = Path(path)
    name = p.name[:-3] if p.name.endswith(".gz") else p.name
    if name.endswith((".jsonl", ".json", ".ndjson")):
        return "jsonl"
    if name.endswith(".csv"):
        return "csv"
    if name.endswith((".txt", ".tsv")) and (p.parent / "class.txt").exists():
        return "thucnews"
    raise InputError(
        f"{p}: cannot tell the data format from the file name; pass --format "
        "(jsonl, csv, or thucnews for text<TAB>label_index with class.txt beside it)"
    )


def _lines(path: Path, report: ReadReport, strict: bool) -> Iterator[tuple[int, str]]:
    """Yield (line number, line) pairs; undecodable lines are rejected with their number."""
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as fh:
        for lineno, raw in enumerate(fh, 1):
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                report.read += 1
                msg = f"not valid UTF-8 ({exc.reason} at byte {exc.start})"
                if strict:
                    raise InputError(f"{path}:{lineno}: {msg}") from None
                report.reject(f"{path}:{lineno}", msg)
                continue
            if lineno == 1:
                line = line.lstrip("\ufeff")
            yield lineno, line.rstrip("\r\n")


def _labels_from(obj: dict[str, Any]) -> tuple[str, ...] | str:
    """Labels of a JSON record, or an error message."""
    if "labels" in obj and obj["labels"] is not None:
        labels = obj["labels"]
        if not isinstance(labels, list) or not labels or not all(isinstance(x, str) and x for x in labels):
            return "'labels' must be a non-empty list of non-empty strings"
        primary = obj.get("label")
        if isinstance(primary, str) and primary and primary != labels[0]:
            labels = [primary] + [x for x in labels if x != primary]
        return tuple(dict.fromkeys(labels))
    label = obj.get("label")
    if isinstance(label, str) and label.strip():
        return (label.strip(),)
    if isinstance(label, list) and label and all(isinstance(x, str) and x for x in label):
        return tuple(dict.fromkeys(label))  # doccano text classification: "label": ["a", "b"]
    if isinstance(label, int) and not isinstance(label, bool):
        return (str(label),)
    return "missing 'label' (a string) or 'labels' (a list)"


def _check_text(text: Any) -> str | None:
    if not isinstance(text, str):
        return "missing 'text' (a string)"
    if not text.strip():
        return "empty text"
    return None


def read_jsonl(path: Path, report: ReadReport, *, strict: bool, labelled: bool) -> Iterator[LabelledRecord]:
    for lineno, line in _lines(path, report, strict):
        if not line.strip():
            continue
        report.read += 1
        where = f"{path}:{lineno}"
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            problem = f"invalid JSON ({exc.msg} at column {exc.colno})"
        else:
            if not isinstance(obj, dict):
                problem = f"expected a JSON object, got {type(obj).__name__}"
            else:
                problem = _check_text(obj.get("text")) or ""
                labels: tuple[str, ...] | str = ()
                if not problem and labelled:
                    labels = _labels_from(obj)
                    if isinstance(labels, str):
                        problem = labels
                if not problem:
                    rid = obj.get("id")
                    meta = {k: v for k, v in obj.items() if k not in ("id", "text", "label", "labels")}
                    report.accepted += 1
                    yield LabelledRecord(
                        None if rid is None else str(rid),
                        obj["text"],
                        labels if isinstance(labels, tuple) else (),
                        str(path),
                        lineno,
                        meta,
                    )
                    continue
        if strict:
            raise InputError(f"{where}: {problem}")
        report.reject(where, problem)


def read_csv(path: Path, report: ReadReport, *, strict: bool, labelled: bool) -> Iterator[LabelledRecord]:
    with open_text(path) as fh:
        reader = csv.DictReader(fh)
        fields = reader.fieldnames or []
        need = ["text", "label"] if labelled else ["text"]
        missing = [c for c in need if c not in fields]
        if missing:
            raise InputError(f"{path}:1: CSV header lacks column(s) {missing}; found {fields}")
        try:
            for row in reader:
                lineno = reader.line_num
                report.read += 1
                where = f"{path}:{lineno}"
                problem = _check_text(row.get("text"))
                labels: tuple[str, ...] = ()
                if not problem and labelled:
                    raw = (row.get("label") or "").strip()
                    labels = tuple(x.strip() for x in raw.split("|") if x.strip())
                    if not labels:
                        problem = "empty label"
                if problem:
                    if strict:
                        raise InputError(f"{where}: {problem}")
                    report.reject(where, problem)
                    continue
                report.accepted += 1
                meta = {k: v for k, v in row.items() if k not in ("id", "text", "label") and k is not None}
                yield LabelledRecord(row.get("id") or None, row["text"] or "", labels, str(path), lineno, meta)
        except UnicodeDecodeError as exc:
            raise InputError(f"{path}: not valid UTF-8 near line {reader.line_num + 1}: {exc.reason}") from None
        except csv.Error as exc:
            raise InputError(f"{path}:{reader.line_num}: malformed CSV: {exc}") from None


def read_thucnews(path: Path, report: ReadReport, *, strict: bool, labelled: bool) -> Iterator[LabelledRecord]:
    class_file = path.parent / "class.txt"
    try:
        classes = [c.strip() for c in class_file.read_text(encoding="utf-8-sig").splitlines() if c.strip()]
    except OSError as exc:
        raise InputError(f"{path}: THUCNews layout needs {class_file} beside it ({exc.strerror})") from None
    for lineno, line in _lines(path, report, strict):
        if not line.strip():
            continue
        report.read += 1
        where = f"{path}:{lineno}"
        text, sep, idx = line.rpartition("\t")
        problem = ""
        if not sep:
            problem = "expected 'text<TAB>label_index'"
        elif not text.strip():
            problem = "empty text"
        elif not idx.strip().isdigit() or int(idx) >= len(classes):
            problem = f"label index {idx!r} is not one of 0..{len(classes) - 1} in {class_file.name}"
        if problem:
            if strict:
                raise InputError(f"{where}: {problem}")
            report.reject(where, problem)
            continue
        report.accepted += 1
        yield LabelledRecord(None, text, (classes[int(idx)],), str(path), lineno)


_READERS = {"jsonl": read_jsonl, "csv": read_csv, "thucnews": read_thucnews}


def iter_records(
    path: str | os.PathLike[str],
    *,
    fmt: DataFormat = "auto",
    strict: bool = False,
    labelled: bool = True,
    report: ReadReport | None = None,
) -> Iterator[LabelledRecord]:
    """Stream records from one file, counting into ``report``.

    Examples
    --------
    >>> report = ReadReport()
    >>> records = list(iter_records("corpus/texts/water_supply.jsonl", report=report))  # doctest: +SKIP
    """
    p = Path(path)
    if fmt not in FORMATS:
        raise InputError(value_invalid_msg("format", fmt, list(FORMATS)))
    if not p.is_file():
        raise InputError(f"data file not found: {p}")
    kind = detect_format(p) if fmt == "auto" else fmt
    rep = report if report is not None else ReadReport()
    yield from _READERS[kind](p, rep, strict=strict, labelled=labelled)


def read_labelled(
    paths: list[str] | list[Path] | tuple[str | Path, ...],
    *,
    fmt: DataFormat = "auto",
    strict: bool = False,
) -> tuple[list[LabelledRecord], ReadReport]:
    """Read every labelled record of several files; returns the records and one report."""
    report = ReadReport()
    records: list[LabelledRecord] = []
    for p in paths:
        records.extend(iter_records(p, fmt=fmt, strict=strict, report=report))
    return records, report
