from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from civictext.artifacts import load_model
from civictext.cli import app
from civictext.corpus import read_labelled
from civictext.routing import parse_routing_table
from civictext.trust import calibration, find_thresholds, suggest, write_thresholds


def test_thresholds_reach_the_target_precision(default_model_dir: Path, small_dev_file: Path) -> None:
    clf = load_model(default_model_dir, compiled=True).classifier
    records, _ = read_labelled([small_dev_file])
    found = find_thresholds(clf, records, precision=0.8, min_support=2)
    assert set(found) == set(clf.labels_)
    proba = clf.predict_proba([r.text for r in records])
    for label, row in found.items():
        if row["kept"]:
            kept = [r for r, p in zip(records, proba, strict=True)
                    if clf.labels_[p.argmax()] == label and p.max() >= row["threshold"]]  # fmt: skip
            assert len(kept) == row["kept"]
            assert sum(r.label == label for r in kept) / len(kept) >= 0.8
        else:
            assert row["threshold"] == 1.0 and row["note"]


def test_write_thresholds_keeps_the_rest_of_the_table() -> None:
    from importlib import resources

    text = resources.files("civictext").joinpath("data").joinpath("routes.toml").read_text(encoding="utf-8")
    new = write_thresholds(text, {"water_supply": 0.42, "mediation": 0.9})
    table = parse_routing_table(new, "new.toml")
    assert table.thresholds == {"mediation": 0.9, "water_supply": 0.42}
    assert len(table.rules) == len(parse_routing_table(text, "old.toml").rules)
    assert "[urgent]" in new and new.count("[thresholds]") == 1


def test_calibration_and_suggestions(default_model_dir: Path, small_dev_file: Path, tmp_path: Path) -> None:
    clf = load_model(default_model_dir, compiled=True).classifier
    records, _ = read_labelled([small_dev_file])
    c = calibration(clf, records, png=tmp_path / "c.png")
    assert 0 <= c["ece"] <= 1 and sum(b["n"] for b in c["bins"]) == len(records)
    assert (tmp_path / "c.png").read_bytes()[:4] == b"\x89PNG"
    picks = suggest(clf, [(r.id, r.text) for r in records], n=5)
    margins = [p["meta"]["margin"] for p in picks]
    assert len(picks) == 5 and margins == sorted(margins) and all(p["label"] == [] for p in picks)


def test_cli(small_dev_file: Path, tmp_path: Path) -> None:
    out = tmp_path / "routes.toml"
    res = CliRunner().invoke(app, ["thresholds", "--data", str(small_dev_file), "--out", str(out), "--json"])
    assert res.exit_code == 0, res.stderr
    data = json.loads(res.stdout)
    assert "calibration" in data and parse_routing_table(out.read_text(encoding="utf-8"), str(out)).thresholds
    res = CliRunner().invoke(app, ["suggest", "--data", str(small_dev_file), "--n", "3"])
    assert res.exit_code == 0 and len(res.stdout.splitlines()) == 3
