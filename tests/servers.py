"""Real servers for the tests: the intake service (uvicorn on loopback) and a throwaway PostgreSQL.

PostgreSQL and Chromium come from Debian (``scripts/setup-system.sh``, which ``.ci/run`` calls).
Where they are missing, the tests that need them skip and say so — except when
``CIVICTEXT_REQUIRE_SYSTEM=1`` (set by ``.ci/run``), where a missing component is a failure.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

REQUIRE_ENV = "CIVICTEXT_REQUIRE_SYSTEM"


def missing(component: str, how: str) -> None:
    """Skip (on a developer's machine) or fail (in CI) because a system component is absent."""
    msg = f"{component} is not installed; {how} (scripts/setup-system.sh installs it)"
    if os.environ.get(REQUIRE_ENV) == "1":
        pytest.fail(msg + f"; {REQUIRE_ENV}=1 makes this a failure")
    pytest.skip(msg)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_healthy(url: str, proc: subprocess.Popen[bytes], timeout: float = 90) -> None:
    import httpx

    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            time.sleep(0.2)
        if proc.poll() is not None:
            raise AssertionError(proc.stderr.read().decode() if proc.stderr else "server died")
    proc.kill()
    raise AssertionError(f"server at {url} did not come up in {timeout:.0f} s")


def start_service(
    db: str | Path, port: int, token: str | None = None, extra: list[str] | None = None, *, new_session: bool = False
) -> subprocess.Popen[bytes]:
    """``civictext serve`` as a child process on 127.0.0.1:port, returned once /health answers;
    ``new_session`` puts it in a process group of its own, so one signal reaches its workers."""
    env = dict(os.environ)
    env.pop("CIVICTEXT_TOKEN", None)
    if token:
        env["CIVICTEXT_TOKEN"] = token
    proc = subprocess.Popen(
        [sys.executable, "-m", "civictext", "serve", "--port", str(port), "--db", str(db), *(extra or [])],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env, start_new_session=new_session,
    )  # fmt: skip
    wait_healthy(f"http://127.0.0.1:{port}", proc)
    return proc


def stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=30)


class Postgres:
    """A PostgreSQL cluster of its own in a temporary directory, on a free loopback port."""

    def __init__(self) -> None:
        bins = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
        found = bins[-1] if bins else shutil.which("initdb")
        if not found:
            missing("PostgreSQL (Debian package postgresql)", "the PostgreSQL tests need initdb and pg_ctl")
        self.bin = Path(str(found)).parent
        self.dir = Path(tempfile.mkdtemp(prefix="civictext-pg-"))
        self.port = free_port()
        self.user: str | None = None
        if os.geteuid() == 0:  # PostgreSQL refuses to run as root: run it as the postgres user
            self.user = "postgres"
            pw = pwd.getpwnam(self.user)
            os.chown(self.dir, pw.pw_uid, pw.pw_gid)
        data = self.dir / "data"
        self._run("initdb", "-D", str(data), "-U", "civictext", "--auth=trust", "-E", "UTF8", "--no-locale")
        self._run(
            "pg_ctl", "-D", str(data), "-l", str(self.dir / "log"), "-w", "-t", "60", "start",
            "-o", f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=on",
        )  # fmt: skip
        self._n = 0

    def _run(self, tool: str, *args: str) -> None:
        cmd = [str(self.bin / tool), *args]
        if self.user:
            cmd = ["runuser", "-u", self.user, "--", *cmd]
        res = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
        if res.returncode != 0:
            raise AssertionError(f"{' '.join(cmd)} failed:\n{res.stdout}\n{res.stderr}")

    def new_database(self) -> str:
        """A fresh, empty database; returns its SQLAlchemy URL."""
        import psycopg

        self._n += 1
        name = f"civictext_{self._n}"
        with psycopg.connect(f"host=127.0.0.1 port={self.port} user=civictext dbname=postgres", autocommit=True) as c:
            c.execute(f"CREATE DATABASE {name}")
        return f"postgresql+psycopg://civictext@127.0.0.1:{self.port}/{name}"

    def close(self) -> None:
        self._run("pg_ctl", "-D", str(self.dir / "data"), "-m", "fast", "-w", "stop")
        shutil.rmtree(self.dir, ignore_errors=True)


@contextmanager
def postgres() -> Iterator[Postgres]:
    pg = Postgres()
    try:
        yield pg
    finally:
        pg.close()
