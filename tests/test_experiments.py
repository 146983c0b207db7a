"""The smallest shipped experiment runs end to end and reproduces its numbers."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from civictext.cli import app
from civictext.errors import ConfigError
from civictext.experiments import compare_runs, load_experiment, run_experiment

from .conftest import ROOT

QUICK = ROOT / "experiments" / "corpus-quick.toml"


@pytest.mark.slow
def test_quick_experiment_writes_a_complete_run_and_reproduces(tmp_path: Path) -> None:
    a = run_experiment(QUICK, runs_dir=tmp_path, jobs=2, log=lambda m: None, timestamp="a")
    b = run_experiment(QUICK, runs_dir=tmp_path, jobs=1, log=lambda m: None, timestamp="b")
    ma = json.loads((a / "metrics.json").read_text(encoding="utf-8"))
    mb = json.loads((b / "metrics.json").read_text(encoding="utf-8"))
    assert ma == mb, "the same config on the same data must give the same numbers"
    assert set(ma["variants"]) == {"default", "char-1-2-only"}
    v = ma["variants"]["default"]
    assert v["folds"] == 3 and len(v["macro_f1"]["folds"]) == 3 and v["macro_f1"]["std"] >= 0
    assert 0.8 < v["macro_f1"]["mean"] <= 1 and "water_supply" in v["per_class"]
    run = json.loads((a / "run.json").read_text(encoding="utf-8"))
    assert run["seeds"]["split"] == 0 and run["versions"]["scikit-learn"] and len(run["data"]) >= 14
    for name in ("confusion-default.png", "learning_curve.png", "report-default.txt", "wrong-default.jsonl"):
        assert (a / name).is_file(), name
    wrong = [json.loads(x) for x in (a / "wrong-default.jsonl").read_text(encoding="utf-8").splitlines()]
    assert (
        wrong and wrong == sorted(wrong, key=lambda w: -w["confidence"]) and wrong[0]["gold"] != wrong[0]["predicted"]
    )
    table = compare_runs([a, b], markdown=True)
    assert table.count("| a |") == 0 and "corpus-quick-a" in table and "*" in table
    res = CliRunner().invoke(app, ["compare", str(a), str(b)])
    assert res.exit_code == 0 and "macro-F1" in res.stdout


def test_bad_experiment_files(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('name = "x"\n[data]\ntrain = ["nothing-*.jsonl"]\n[[variant]]\nname = "a"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match="matches no file"):
        load_experiment(bad)
    bad.write_text('[data]\ntrain = []\n[evaluation]\nmethod = "bootstrap"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match="method"):
        load_experiment(bad)
    res = CliRunner().invoke(app, ["compare", str(tmp_path)])
    assert res.exit_code == 2 and "not a run folder" in res.stderr


def test_shipped_configs_parse() -> None:
    for cfg in sorted((ROOT / "experiments").glob("*.toml")):
        try:
            exp = load_experiment(cfg)
        except ConfigError as exc:  # the public data sets live in ../shared, absent from a user's clone
            assert "shared" in str(exc) or "matches no file" in str(exc)
            continue
        assert exp.variants


def test_search_expands_variants(tmp_path: Path) -> None:
    exp = load_experiment(ROOT / "experiments" / "corpus-search.toml")
    assert len(exp.variants) == 6
    names = [n for n, _ in exp.variants]
    cfg = dict(exp.variants)["svc[C=2.0,features.char_ngram=[1, 3]]"]
    assert cfg.C == 2.0 and cfg.features.char_ngram == (1, 3) and len(set(names)) == 6
    bad = tmp_path / "s.toml"
    bad.write_text(
        '[data]\ntrain = ["../*.toml"]\n[[variant]]\nname = "a"\n[search]\nparams = { colour = ["red"] }\n',
        encoding="utf-8",
    )
    (tmp_path.parent / "x.toml").write_text("", encoding="utf-8")
    with pytest.raises(ConfigError, match="not a ClassifierConfig field"):
        load_experiment(bad)
    bad.write_text('[data]\ntrain = ["../*.toml"]\n[[variant]]\nname = "a"\n[search]\nmethod = "random"\nn_iter = 2\n'
                   'params = { C = [0.1, 1.0, 10.0] }\n', encoding="utf-8")  # fmt: skip
    assert len(load_experiment(bad).variants) == 2
