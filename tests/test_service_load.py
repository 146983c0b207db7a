"""The service under load from a separate client process (benchmarks/bench_service.py), and killed mid-load."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from .servers import Postgres, postgres

pytest.importorskip("httpx", reason="the service extra is part of the test extra")
BENCH = Path(__file__).resolve().parents[1] / "benchmarks" / "bench_service.py"


def _bench(*args: str, tmp_path: Path) -> dict[str, Any]:
    out = tmp_path / "report.json"
    res = subprocess.run([sys.executable, str(BENCH), *args, "--json", str(out)], capture_output=True, text=True,
                         timeout=600)  # fmt: skip
    assert out.exists(), res.stderr[-3000:]
    report: dict[str, Any] = json.loads(out.read_text(encoding="utf-8"))
    assert res.returncode == (0 if report["ok"] else 1)
    return report


@pytest.fixture(scope="module")
def pg() -> Any:
    with postgres() as server:
        yield server


@pytest.mark.parametrize("where", ["sqlite, 1 worker", "postgresql, 2 workers"])
def test_kill_mid_load_loses_and_doubles_nothing(where: str, request: pytest.FixtureRequest, tmp_path: Path) -> None:
    extra = ["--db", request.getfixturevalue("pg").new_database(), "--workers", "2"] if "postgresql" in where else []
    r = _bench("kill", "--requests", "120", "--kill-after", "40", "--concurrency", "4", *extra, tmp_path=tmp_path)
    assert r["acknowledged_when_killed"] >= 40
    assert r["before_kill"]["acknowledged"] < 120, "the kill came before the load was over"
    assert r["after_restart"]["lost"] == 0 and r["after_restart"]["stored_more_than_once"] == 0
    assert r["after_restart"]["wrong_id"] == 0
    retried = r["retry"]["statuses"]
    assert retried.get("200", 0) == r["after_restart"]["stored_but_not_acknowledged"], "stored cases answer 200"
    assert r["final"] == {"acknowledged": 120, "lost": 0, "wrong_id": 0, "stored_more_than_once": 0,
                          "keys": 120, "keys_stored": 120, "keys_missing": 0}  # fmt: skip
    assert r["ok"] is True


def test_load_on_postgresql_with_two_workers_no_5xx_nothing_lost(pg: Postgres, tmp_path: Path) -> None:
    url = pg.new_database()
    r = _bench("load", "--requests", "80", "--concurrency", "4", "--workers", "2", "--baseline", "0", "--db", url,
               tmp_path=tmp_path)  # fmt: skip
    assert r["db"] == "postgresql+psycopg" and r["workers"] == 2
    assert r["client"]["statuses"] == {"201": 80}
    assert r["checks"] == {"acknowledged": 80, "lost": 0, "wrong_id": 0, "stored_more_than_once": 0, "5xx": 0}
    lat = r["client"]["latency_ms"]
    assert 0 < lat["p50"] <= lat["p95"] <= lat["p99"]
    assert r["ok"] is True
