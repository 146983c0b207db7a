"""Move labelled data between civictext and annotation tools without hand conversion.

Every format is read into, and written from, one canonical record::

    {"id": str | None, "text": str, "labels": [category, ...], "spans": [[start, end, TYPE], ...]}

(``end`` exclusive, offsets into ``text``). Formats:

``civictext``
    Our JSON Lines: ``label``/``labels`` and ``entities`` ([[surface, TYPE]]) or ``spans``.
``doccano``
    doccano JSON Lines — text classification (``label``: list of strings, or ``cats``) and
    sequence labelling (``label``: [[start, end, TYPE]] or ``entities``: [{start_offset,
    end_offset, label}]). Written with ``label`` for categories and ``entities`` for spans.
``labelstudio``
    A Label Studio JSON export (a list of tasks with ``data.text`` and ``annotations[].result``
    of ``labels`` and ``choices`` results).
``cluener``
    CLUENER JSON Lines (``label``: {type: {surface: [[start, end_inclusive]]}}); types are
    mapped to ours on reading (address→DISTRICT...) and back on writing.
``docbin`` (write only)
    A spaCy ``DocBin`` (``.spacy``) of Docs made by our tokenizer, spans as entities.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from .errors import InputError

FORMATS_IN = ("civictext", "doccano", "labelstudio", "cluener")
FORMATS_OUT = ("civictext", "doccano", "labelstudio", "cluener", "docbin")
_TO_CLUENER = {"DISTRICT": "address", "ORG": "organization", "PERSON": "name", "PHONE": "phone"}

Canonical = dict[str, Any]


def _jsonl(path: Path) -> Iterable[tuple[int, dict[str, Any]]]:
    for lineno, line in enumerate(path.read_text(encoding="utf-8-sig").splitlines(), 1):
        if line.strip():
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as exc:
                raise InputError(f"{path}:{lineno}: invalid JSON ({exc.msg})") from None
            if not isinstance(obj, dict) or not isinstance(obj.get("text"), str):
                raise InputError(f"{path}:{lineno}: expected an object with a string 'text'")
            yield lineno, obj


def _check_spans(path: Path, where: int, text: str, spans: list[list[Any]]) -> list[list[Any]]:
    for s, e, label in spans:
        if not (isinstance(s, int) and isinstance(e, int) and 0 <= s < e <= len(text)):
            raise InputError(f"{path}:{where}: span [{s}, {e}, {label}] is outside the text")
    return [[int(s), int(e), str(label)] for s, e, label in spans]


def read_annotations(path: str | Path, fmt: str) -> list[Canonical]:
    """Canonical records of a file in ``fmt``; a malformed record raises InputError naming its line."""
    from .entities import CLUENER_MAP, spans_from_surfaces

    p = Path(path)
    if not p.is_file():
        raise InputError(f"annotation file not found: {p}")
    out: list[Canonical] = []
    if fmt == "labelstudio":
        try:
            tasks = json.loads(p.read_text(encoding="utf-8-sig"))
        except json.JSONDecodeError as exc:
            raise InputError(f"{p}: not a Label Studio JSON export ({exc.msg})") from None
        for i, task in enumerate(tasks if isinstance(tasks, list) else [], 1):
            text = (task.get("data") or {}).get("text")
            if not isinstance(text, str):
                raise InputError(f"{p}: task {i} has no data.text")
            labels: list[str] = []
            spans: list[list[Any]] = []
            for ann in task.get("annotations") or []:
                for res in ann.get("result") or []:
                    value = res.get("value") or {}
                    if res.get("type") == "labels":
                        spans += [[value["start"], value["end"], lab] for lab in value.get("labels", [])]
                    elif res.get("type") == "choices":
                        labels += value.get("choices", [])
            out.append({"id": task.get("id"), "text": text, "labels": labels, "spans": _check_spans(p, i, text, spans)})
        return out
    if fmt not in FORMATS_IN:
        raise InputError(f"invalid input format {fmt!r}; allowed: {', '.join(FORMATS_IN)}")
    for lineno, obj in _jsonl(p):
        text = obj["text"]
        rid = obj.get("id")
        labels, spans = [], []
        if fmt == "civictext":
            labels = obj.get("labels") or ([obj["label"]] if obj.get("label") else [])
            spans = obj.get("spans") or [list(s) for s in spans_from_surfaces(text, obj.get("entities") or [])]
        elif fmt == "doccano":
            raw = obj.get("label", obj.get("labels", []))
            if raw and isinstance(raw[0], list):
                spans = raw
            else:
                labels = list(raw or obj.get("cats", []))
            for ent in obj.get("entities") or []:
                spans.append([ent["start_offset"], ent["end_offset"], ent["label"]])
        else:  # cluener
            for ctype, mentions in (obj.get("label") or {}).items():
                label = CLUENER_MAP.get(ctype, ctype.upper())
                for surface, offsets in mentions.items():
                    for s, e in offsets:
                        if text[s : e + 1] != surface:
                            raise InputError(f"{p}:{lineno}: span {s}-{e} is not {surface!r}")
                        spans.append([s, e + 1, label])
        out.append({"id": None if rid is None else str(rid), "text": text, "labels": [str(x) for x in labels],
                    "spans": sorted(_check_spans(p, lineno, text, spans))})  # fmt: skip
    return out


def write_annotations(records: list[Canonical], path: str | Path, fmt: str) -> None:
    """Write canonical records in ``fmt`` (``docbin`` writes a spaCy .spacy file)."""
    p = Path(path)
    if fmt == "docbin":
        from spacy.tokens import DocBin

        from .entities import build_blank

        nlp = build_blank()
        db = DocBin(store_user_data=True)
        for rec in records:
            doc = nlp.make_doc(rec["text"])
            ents = [doc.char_span(s, e, label=lab, alignment_mode="expand") for s, e, lab in rec["spans"]]
            kept: list[Any] = []
            for span in sorted((x for x in ents if x is not None), key=lambda x: (x.start, -len(x))):
                if not kept or span.start >= kept[-1].end:
                    kept.append(span)
            doc.ents = kept
            doc.user_data["labels"] = rec["labels"]
            db.add(doc)
        db.to_disk(p)
        return
    if fmt == "labelstudio":
        tasks = []
        for i, rec in enumerate(records, 1):
            result: list[dict[str, Any]] = [
                {"type": "labels", "from_name": "label", "to_name": "text",
                 "value": {"start": s, "end": e, "text": rec["text"][s:e], "labels": [lab]}}
                for s, e, lab in rec["spans"]
            ]  # fmt: skip
            if rec["labels"]:
                result.append({"type": "choices", "from_name": "category", "to_name": "text",
                               "value": {"choices": rec["labels"]}})  # fmt: skip
            tasks.append({"id": rec.get("id") or i, "data": {"text": rec["text"]}, "annotations": [{"result": result}]})
        p.write_text(json.dumps(tasks, ensure_ascii=False, indent=1), encoding="utf-8")
        return
    if fmt not in FORMATS_OUT:
        raise InputError(f"invalid output format {fmt!r}; allowed: {', '.join(FORMATS_OUT)}")
    lines = []
    for rec in records:
        obj: dict[str, Any] = {"id": rec.get("id"), "text": rec["text"]}
        if fmt == "civictext":
            if rec["labels"]:
                obj["label"] = rec["labels"][0]
                if len(rec["labels"]) > 1:
                    obj["labels"] = rec["labels"]
            obj["spans"] = rec["spans"]
        elif fmt == "doccano":
            obj["label"] = rec["labels"]
            obj["entities"] = [{"start_offset": s, "end_offset": e, "label": lab} for s, e, lab in rec["spans"]]
        else:  # cluener
            label: dict[str, dict[str, list[list[int]]]] = {}
            for s, e, lab in rec["spans"]:
                label.setdefault(_TO_CLUENER.get(lab, lab.lower()), {}).setdefault(rec["text"][s:e], []).append(
                    [s, e - 1]
                )
            obj["label"] = label
        lines.append(json.dumps(obj, ensure_ascii=False))
    p.write_text("\n".join(lines) + "\n", encoding="utf-8")
