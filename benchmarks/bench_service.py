"""Load and crash tests of the intake service: throughput, latency, and no lost or doubled case.

Usage:
  python benchmarks/bench_service.py load [--requests 2000] [--concurrency 8] [--seconds 300] [--db PATH|URL|postgres]
  python benchmarks/bench_service.py kill [--requests 600] [--kill-after 200] [--concurrency 8] [--db PATH|URL|postgres]

Both start `civictext serve` on a free loopback port over a fresh database (a SQLite file in a
temporary directory unless `--db` names one) and load it from a **separate client process**
(this script's `client` command) with `--concurrency` threads, each submitting complaint texts
of our corpus to POST /cases with its own `Idempotency-Key`. The run is bounded by
`--requests` and `--seconds`. The client writes one line per acknowledged case (key, id) as
soon as the answer arrives.

load: reports requests/s and p50/p95/p99 latency of submit-and-route, the HTTP statuses, and
checks the database afterwards: every acknowledged case is stored once under its key, and no
request got a 5xx. As a same-session baseline, the analysis alone (`Analyzer.analyze`, no HTTP,
no database) runs over the same texts in this process: `service / analyze` is the ratio.

kill: sends SIGKILL to the server once `--kill-after` cases are acknowledged, restarts it on the
same database, and checks that every case acknowledged before the kill is there exactly once
(same id, same key). Then the client retries every key that was not acknowledged, as a real
client would: a case stored but unacknowledged at the kill answers 200 with its id; the rest are
stored now. At the end each key is in the database exactly once.

Prints a JSON report (also to `--json FILE`); exits 1 when a check fails. Servers are started by
the same helpers as the tests use (`tests/servers.py`), so run it from a checkout with the `test` extra.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import typer

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from tests.servers import Postgres, free_port, start_service  # noqa: E402  (the tests' own server starters)

app = typer.Typer(add_completion=False, no_args_is_help=True)


def complaint_texts() -> list[str]:
    out = []
    for f in sorted((ROOT / "corpus" / "texts").glob("*.jsonl")):
        for line in f.read_text(encoding="utf-8").splitlines():
            rec = json.loads(line)
            if rec.get("register") == "complaint":
                out.append(rec["text"])
    return out


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    xs = sorted(values)
    k = min(len(xs) - 1, max(0, round(q / 100 * len(xs) + 0.5) - 1))  # nearest rank
    return xs[k]


# -- the client: a process of its own -------------------------------------------------------


@app.command()
def client(
    url: str = typer.Option(...),
    requests: int = typer.Option(...),
    concurrency: int = typer.Option(8),
    seconds: float = typer.Option(300),
    acks: Path = typer.Option(..., help="Append 'key<TAB>id<TAB>status' per acknowledged case."),
    prefix: str = typer.Option("load"),
    only: Path | None = typer.Option(None, help="Send only the request numbers listed in this file."),
) -> None:
    """Submit `requests` complaints (request i carries key PREFIX-i); print a JSON summary."""
    import httpx

    texts = complaint_texts()
    numbers = list(range(requests)) if only is None else [int(x) for x in only.read_text().split()]
    lock = threading.Lock()
    latencies: list[float] = []
    statuses: Counter[str] = Counter()
    stop_at = time.monotonic() + seconds
    local = threading.local()
    out = open(acks, "a", encoding="utf-8")

    def one(i: int) -> None:
        if time.monotonic() > stop_at:
            with lock:
                statuses["not sent (time bound)"] += 1
            return
        if not hasattr(local, "http"):
            local.http = httpx.Client(base_url=url, timeout=60)
        key = f"{prefix}-{i}"
        t0 = time.perf_counter()
        try:
            r = local.http.post("/cases", json={"text": texts[i % len(texts)]}, headers={"Idempotency-Key": key})
        except httpx.HTTPError as exc:
            with lock:
                statuses[f"connection error ({type(exc).__name__})"] += 1
            return
        dt = time.perf_counter() - t0
        with lock:
            statuses[str(r.status_code)] += 1
            if r.status_code in (200, 201):
                latencies.append(dt)
                out.write(f"{key}\t{r.json()['id']}\t{r.status_code}\n")
                out.flush()

    t0 = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as pool:
        list(pool.map(one, numbers))
    elapsed = time.perf_counter() - t0
    out.close()
    ok = len(latencies)
    print(json.dumps({
        "sent": len(numbers), "acknowledged": ok, "statuses": dict(statuses), "seconds": round(elapsed, 2),
        "requests_per_s": round(ok / elapsed, 2) if elapsed else None,
        "latency_ms": {f"p{q}": round(1000 * percentile(latencies, q), 1) for q in (50, 95, 99)}
        | {"mean": round(1000 * statistics.fmean(latencies), 1) if latencies else None},
    }))  # fmt: skip


# -- the driver --------------------------------------------------------------------------------


def start_server(db: str, port: int, workers: int = 1) -> subprocess.Popen[bytes]:
    """`civictext serve` in a process group of its own (so a kill reaches its worker processes)."""
    return start_service(db, port, extra=["--workers", str(workers)], new_session=True)


def rss_mb(pid: int) -> dict[str, float]:
    """Resident memory (VmRSS, MB) of a process and of its child processes (the workers), from /proc."""

    def one(p: int) -> float:
        for line in Path(f"/proc/{p}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        return 0.0

    out = {str(pid): round(one(pid), 1)}
    for task in Path(f"/proc/{pid}/task").iterdir():
        for child in (task / "children").read_text().split():
            out[child] = round(one(int(child)), 1)
    return out


def stop_server(proc: subprocess.Popen[bytes], sig: int = signal.SIGTERM) -> None:
    os.killpg(proc.pid, sig)
    proc.wait(timeout=60)


def run_client(url: str, requests: int, concurrency: int, seconds: float, acks: Path, prefix: str,
               only: Path | None = None) -> subprocess.Popen[str]:  # fmt: skip
    cmd = [sys.executable, __file__, "client", "--url", url, "--requests", str(requests), "--concurrency",
           str(concurrency), "--seconds", str(seconds), "--acks", str(acks), "--prefix", prefix]  # fmt: skip
    if only is not None:
        cmd += ["--only", str(only)]
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)


def read_acks(path: Path) -> dict[str, int]:
    out: dict[str, int] = {}
    if path.exists():
        for line in path.read_text(encoding="utf-8").splitlines():
            key, cid, _ = line.split("\t")
            if key in out and out[key] != int(cid):
                raise SystemExit(f"key {key} acknowledged with two ids: {out[key]} and {cid}")
            out[key] = int(cid)
    return out


def stored(db: str, prefix: str) -> dict[str, list[int]]:
    """key → ids of the cases stored under it (read straight from the database)."""
    from sqlalchemy import select
    from sqlalchemy.orm import Session

    from civictext.service import Case, make_engine

    engine = make_engine(db)
    with Session(engine) as s:
        rows = s.execute(select(Case.request_key, Case.id).where(Case.request_key.like(f"{prefix}-%"))).all()
    engine.dispose()
    out: dict[str, list[int]] = {}
    for key, cid in rows:
        out.setdefault(str(key), []).append(int(cid))
    return out


def check_acks(acks: dict[str, int], db_rows: dict[str, list[int]]) -> dict[str, int]:
    return {
        "acknowledged": len(acks),
        "lost": sum(1 for k in acks if k not in db_rows),
        "wrong_id": sum(1 for k, i in acks.items() if k in db_rows and db_rows[k] != [i]),
        "stored_more_than_once": sum(1 for ids in db_rows.values() if len(ids) > 1),
    }


def baseline_analyze(n: int) -> float:
    """Analyses per second of `Analyzer.analyze` alone over the same texts, in this process."""
    from civictext.pipeline import Analyzer

    texts = complaint_texts()
    analyzer = Analyzer.load()
    for t in texts[:20]:
        analyzer.analyze(t)
    t0 = time.perf_counter()
    for i in range(n):
        analyzer.analyze(texts[i % len(texts)])
    return n / (time.perf_counter() - t0)


def finish(report: dict[str, Any], json_out: Path | None, ok: bool, work: Path, keep: bool) -> None:
    report["ok"] = ok
    if keep or not ok:  # a failed check leaves its database and acknowledgements to look at
        report["work_dir"] = str(work)
    else:
        shutil.rmtree(work, ignore_errors=True)
    text = json.dumps(report, ensure_ascii=False, indent=2)
    print(text)
    if json_out is not None:
        json_out.write_text(text + "\n", encoding="utf-8")
    raise SystemExit(0 if ok else 1)


def _db(db: str | None, work: Path) -> str:
    if db == "postgres":  # a throwaway PostgreSQL cluster, as the tests start one (Debian's postgresql)
        import atexit

        pg = Postgres()
        atexit.register(pg.close)
        return pg.new_database()
    return db if db else str(work / "cases.db")


@app.command()
def load(
    requests: int = typer.Option(2000, min=1),
    concurrency: int = typer.Option(8, min=1),
    workers: int = typer.Option(1, min=1, help="Server worker processes (serve --workers)."),
    seconds: float = typer.Option(300, help="Time bound of the load."),
    db: str | None = typer.Option(
        None, help="Database URL or file (default: a new SQLite file in a temp dir; 'postgres': a throwaway cluster)."
    ),
    baseline: int = typer.Option(300, help="Texts for the in-process analysis baseline (0: skip)."),
    json_out: Path | None = typer.Option(None, "--json"),
    keep: bool = typer.Option(False, "--keep", help="Keep the work directory (SQLite database, acknowledgements)."),
) -> None:
    """Load a fresh server; report req/s, latency percentiles, and that nothing was lost."""
    work = Path(tempfile.mkdtemp(prefix="civictext-load-"))
    database, port, prefix = _db(db, work), free_port(), f"load{os.getpid()}"
    server = start_server(database, port, workers)
    try:
        proc = run_client(f"http://127.0.0.1:{port}", requests, concurrency, seconds, work / "acks.tsv", prefix)
        out, _ = proc.communicate(timeout=seconds + 120)
        result = json.loads(out)
        memory = rss_mb(server.pid)
    finally:
        stop_server(server)
    checks = check_acks(read_acks(work / "acks.tsv"), stored(database, prefix))
    five = sum(v for k, v in result["statuses"].items() if k.startswith("5"))
    report: dict[str, Any] = {
        "mode": "load", "db": "sqlite" if "://" not in database else database.split(":")[0],
        "concurrency": concurrency, "workers": workers, "client": result, "server_rss_mb": memory,
        "checks": checks | {"5xx": five}, "cpus": os.cpu_count(),
    }  # fmt: skip
    if baseline:
        per_s = baseline_analyze(baseline)
        report["baseline_analyze_per_s"] = round(per_s, 2)
        report["service_over_analyze"] = round(result["requests_per_s"] / per_s, 3)
    ok = (five == 0 and checks["lost"] == 0 and checks["wrong_id"] == 0 and checks["stored_more_than_once"] == 0
          and result["acknowledged"] == result["sent"])  # fmt: skip
    finish(report, json_out, ok, work, keep)


@app.command()
def kill(
    requests: int = typer.Option(600, min=2),
    kill_after: int = typer.Option(200, min=1, help="SIGKILL the server after this many acknowledged cases."),
    concurrency: int = typer.Option(8, min=1),
    workers: int = typer.Option(1, min=1, help="Server worker processes (all killed together)."),
    seconds: float = typer.Option(300),
    db: str | None = typer.Option(None, help="As for load."),
    json_out: Path | None = typer.Option(None, "--json"),
    keep: bool = typer.Option(False, "--keep", help="Keep the work directory (SQLite database, acknowledgements)."),
) -> None:
    """Kill the server mid-load, restart it, prove acknowledged cases are stored exactly once."""
    if kill_after >= requests:
        raise typer.BadParameter("--kill-after must be below --requests")
    work = Path(tempfile.mkdtemp(prefix="civictext-kill-"))
    database, port, prefix = _db(db, work), free_port(), f"kill{os.getpid()}"
    acks_file = work / "acks.tsv"
    url = f"http://127.0.0.1:{port}"
    server = start_server(database, port, workers)
    proc = run_client(url, requests, concurrency, seconds, acks_file, prefix)
    deadline = time.time() + seconds
    while len(read_acks(acks_file)) < kill_after and proc.poll() is None and time.time() < deadline:
        time.sleep(0.02)
    stop_server(server, signal.SIGKILL)
    killed_at = len(read_acks(acks_file))
    first, _ = proc.communicate(timeout=seconds + 120)
    acked_before = read_acks(acks_file)  # everything the client was told before the server died

    server = start_server(database, port, workers)
    try:
        after_restart = check_acks(acked_before, stored(database, prefix))
        unacked = [i for i in range(requests) if f"{prefix}-{i}" not in acked_before]
        committed_unacked = sum(1 for i in unacked if f"{prefix}-{i}" in stored(database, prefix))
        (work / "retry.txt").write_text("\n".join(map(str, unacked)))
        retry = run_client(url, requests, concurrency, seconds, acks_file, prefix, only=work / "retry.txt")
        second, _ = retry.communicate(timeout=seconds + 120)
    finally:
        stop_server(server)
    rows = stored(database, prefix)
    acks = read_acks(acks_file)
    final = check_acks(acks, rows) | {
        "keys": requests, "keys_stored": len(rows), "keys_missing": requests - len(rows),
    }  # fmt: skip
    report = {
        "mode": "kill", "db": "sqlite" if "://" not in database else database.split(":")[0], "workers": workers,
        "acknowledged_when_killed": killed_at, "before_kill": json.loads(first),
        "after_restart": after_restart | {"stored_but_not_acknowledged": committed_unacked},
        "retry": json.loads(second), "final": final,
    }  # fmt: skip
    ok = (after_restart["lost"] == 0 and after_restart["wrong_id"] == 0 and after_restart["stored_more_than_once"] == 0
          and final["lost"] == 0 and final["stored_more_than_once"] == 0 and final["keys_missing"] == 0
          and len(acked_before) >= kill_after)  # fmt: skip
    finish(report, json_out, ok, work, keep)


if __name__ == "__main__":
    app()
