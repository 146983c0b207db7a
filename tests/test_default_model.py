"""The shipped default model: present, loadable, reproducible from corpus/ and sane on the issue's examples."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from civictext.artifacts import load_model
from civictext.classify import ClassifierConfig
from civictext.pipeline import Analyzer
from civictext.training import DEFAULT_CONFIG, corpus_checksum, corpus_files, train_default_model

from .conftest import CORPUS


def test_metadata_records_what_made_it(default_model_dir: Path) -> None:
    meta = json.loads((default_model_dir / "meta.json").read_text(encoding="utf-8"))
    assert meta["training"]["corpus_sha256"] == corpus_checksum(corpus_files(CORPUS)), (
        "corpus/ changed since models/default was trained: run python scripts/train_default.py"
    )
    assert ClassifierConfig.from_dict(meta["config"]) == DEFAULT_CONFIG
    assert meta["labels"] == sorted(meta["labels"]) and "water_supply" in meta["labels"]
    assert {"accuracy", "macro_f1", "micro_f1", "per_class", "n"} <= set(meta["dev"]["metrics"])


@pytest.mark.slow
def test_retraining_reproduces_the_dev_metrics(default_model_dir: Path, tmp_path: Path) -> None:
    shipped = json.loads((default_model_dir / "meta.json").read_text(encoding="utf-8"))["dev"]["metrics"]
    meta = train_default_model(CORPUS, tmp_path / "default")
    retrained = meta["dev"]["metrics"]
    for key in ("n", "accuracy", "macro_f1", "micro_f1"):
        assert retrained[key] == pytest.approx(shipped[key], abs=1e-9), key
    for label, row in shipped["per_class"].items():
        assert retrained["per_class"][label] == pytest.approx(row, abs=1e-9), label


@pytest.mark.parametrize(
    ("text", "category"),
    [
        ("小区三号楼停水两天了,物业也不管,希望水务集团尽快处理", "water_supply"),
        ("楼上邻居天天半夜装修砸墙，沟通了几次都吵起来，请社区调解一下", "mediation"),
        ("我们小区附近能不能多开几家普惠托育机构，一岁半的孩子没人带", "childcare"),
        ("市疾控中心提醒：近期诺如病毒感染进入高发期，学校和托幼机构要做好消毒", "health_alert"),
        ("公司拖欠我们三个月工资了，老板一直躲着不见人", "labour_social_security"),
    ],
)
def test_default_model_on_plain_cases(default_model_dir: Path, text: str, category: str) -> None:
    analyzer = Analyzer(load_model(default_model_dir))
    assert analyzer.analyze(text).category == category
