"""Evaluate a model on our hand labels of real citizen messages (Teddy Cup 2020, by line number).

Usage: python scripts/eval_teddycup.py [--model models/default] [--shared ../shared] [--json]

Joins corpus/teddycup2020_labels.tsv to ../shared/data/teddycup2020-messages/train.jsonl
(checking its sha256) and prints accuracy, macro-F1 over the categories that occur, and a
per-class table. These messages are never used for training.
"""

from __future__ import annotations

import json
from pathlib import Path

import typer

from civictext.artifacts import load_model
from civictext.classify import evaluate_classifier
from civictext.handlabels import TEDDYCUP_SHA256, join_hand_labels

ROOT = Path(__file__).resolve().parents[1]


def main(
    model: Path = ROOT / "models" / "default",
    shared: Path = ROOT.parent / "shared",
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    source = shared / "data" / "teddycup2020-messages" / "train.jsonl"
    records = join_hand_labels(ROOT / "corpus" / "teddycup2020_labels.tsv", source, expected_sha256=TEDDYCUP_SHA256)
    metrics = evaluate_classifier(load_model(model).classifier, records)
    if as_json:
        print(json.dumps(metrics, ensure_ascii=False, indent=2))
        return
    print(f"n={metrics['n']} accuracy {metrics['accuracy']:.4f} macro_f1 {metrics['macro_f1']:.4f}")
    for label, row in metrics["per_class"].items():
        if row["support"]:
            print(f"  {label:<24} P {row['precision']:.3f} R {row['recall']:.3f} F1 {row['f1']:.3f} n {row['support']}")


if __name__ == "__main__":
    typer.run(main)
