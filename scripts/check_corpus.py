"""Validate hand-written corpus files (corpus/texts/*.jsonl).

Usage: python scripts/check_corpus.py [FILE ...]   (default: every corpus/texts/*.jsonl)

Checks every line: valid JSON, required fields, known labels and registers, unique ids,
and that every annotated entity surface occurs verbatim in the text. Prints counts per
label and register. Exit code 1 if any problem was found.
"""

from __future__ import annotations

import collections
import json
import sys
from pathlib import Path

LABELS = {
    "mediation",
    "childcare",
    "water_supply",
    "health_alert",
    "property_management",
    "public_safety",
    "environment_sanitation",
    "government_service",
    "economy_finance",
    "agriculture_rural",
    "education",
    "transport",
    "labour_social_security",
    "other",
}
REGISTERS = {"complaint", "news"}
ENTITY_TYPES = {"DISTRICT", "ORG", "PERSON", "PHONE"}


def check(paths: list[Path]) -> int:
    problems = 0
    ids: dict[str, str] = {}
    by_label: collections.Counter[str] = collections.Counter()
    by_register: collections.Counter[str] = collections.Counter()
    texts: dict[str, str] = {}
    for path in paths:
        for lineno, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            where = f"{path}:{lineno}"
            if not line.strip():
                print(f"{where}: blank line")
                problems += 1
                continue
            try:
                rec = json.loads(line)
            except json.JSONDecodeError as exc:
                print(f"{where}: invalid JSON: {exc}")
                problems += 1
                continue
            for key in ("id", "text", "label", "register"):
                if not isinstance(rec.get(key), str) or not rec[key].strip():
                    print(f"{where}: missing or empty string field {key!r}")
                    problems += 1
            rid, text = rec.get("id", ""), rec.get("text", "")
            if rid in ids:
                print(f"{where}: duplicate id {rid!r} (first in {ids[rid]})")
                problems += 1
            ids[rid] = where
            if text in texts:
                print(f"{where}: duplicate text (same as {texts[text]})")
                problems += 1
            texts[text] = where
            labels = rec.get("labels") or [rec.get("label")]
            if rec.get("label") not in LABELS:
                print(f"{where}: unknown label {rec.get('label')!r}")
                problems += 1
            if labels[0] != rec.get("label") or any(x not in LABELS for x in labels) or len(set(labels)) != len(labels):
                print(f"{where}: 'labels' must list known labels, primary first, no repeats: {labels!r}")
                problems += 1
            if rec.get("register") not in REGISTERS:
                print(f"{where}: register must be one of {sorted(REGISTERS)}, got {rec.get('register')!r}")
                problems += 1
            ents = rec.get("entities", [])
            if not isinstance(ents, list):
                print(f"{where}: entities must be a list of [surface, TYPE]")
                problems += 1
                ents = []
            for ent in ents:
                if not (isinstance(ent, list) and len(ent) == 2 and all(isinstance(x, str) for x in ent)):
                    print(f"{where}: bad entity {ent!r}; expected [surface, TYPE]")
                    problems += 1
                    continue
                surface, etype = ent
                if etype not in ENTITY_TYPES:
                    print(f"{where}: entity type {etype!r} not in {sorted(ENTITY_TYPES)}")
                    problems += 1
                if not surface or surface not in text:
                    print(f"{where}: entity surface {surface!r} does not occur in the text")
                    problems += 1
            by_label[rec.get("label", "?")] += 1
            by_register[rec.get("register", "?")] += 1
    for label, n in sorted(by_label.items()):
        print(f"{label:25s} {n}")
    print("registers:", dict(by_register), "total:", sum(by_label.values()))
    print(f"{problems} problem(s)")
    return 1 if problems else 0


def main() -> None:
    args = [Path(a) for a in sys.argv[1:]] or sorted(Path("corpus/texts").glob("*.jsonl"))
    sys.exit(check(args))


if __name__ == "__main__":
    main()
