"""Browser fixtures: the demo clinic served by uvicorn in a subprocess, and Debian's chromium via Playwright."""

from __future__ import annotations

import os
import shutil
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(url: str, timeout_s: float = 120.0, proc: subprocess.Popen | None = None, log: Path | None = None) -> None:
    """Wait until `url` answers 200; if it never does, kill `proc` first, then report the tail of its `log`."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and (proc is None or proc.poll() is None):
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    if proc is not None:
        proc.kill()
        proc.wait(timeout=10)
    tail = log.read_text(errors="replace")[-2000:] if log is not None and log.exists() else ""
    raise RuntimeError(f"{url} did not answer within {timeout_s} s\n{tail}")


def serve(env: dict[str, str], log: Path) -> tuple[subprocess.Popen, str]:
    """Start `ketacare serve` on a free port, its stderr in `log` (a file never blocks the server); return it."""
    port = free_port()
    with log.open("wb") as err:
        proc = subprocess.Popen([sys.executable, "-m", "ketacare", "serve", "--port", str(port)], env=env,
                                stdout=subprocess.DEVNULL, stderr=err)
    base = f"http://127.0.0.1:{port}"
    wait_for(f"{base}/healthz", proc=proc, log=log)
    return proc, base


class Served(str):
    """The base URL of a served app, carrying the database URL it serves (for tests that prepare data)."""

    db_url: str


@contextmanager
def served_copy(demo_server: Served, d: Path) -> Iterator[tuple[str, Path]]:
    """Copy the seeded demo clinic into `d` and serve it without the demo feeder; yield (base URL, database file)."""
    src = sqlite3.connect(demo_server.db_url.removeprefix("sqlite:///"))
    dst = sqlite3.connect(d / "clinic.db")
    src.backup(dst)
    src.close()
    dst.close()
    env = {k: v for k, v in os.environ.items() if k != "KETACARE_DEMO"}
    env["KETACARE_DATABASE_URL"] = f"sqlite:///{d}/clinic.db"
    proc, base = serve(env, d / "serve.log")
    try:
        yield base, d / "clinic.db"
    finally:
        stop(proc)


def stop(proc: subprocess.Popen) -> None:
    """Stop a served app: SIGTERM, then SIGKILL if open live streams keep it in its graceful shutdown."""
    proc.terminate()
    try:
        proc.wait(timeout=5)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=10)


@pytest.fixture(scope="session")
def demo_server(tmp_path_factory):
    """Serve a freshly seeded demo clinic (200 patients) and yield its base URL."""
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian's chromium is not installed (.ci/run installs it with apt)")
    d = tmp_path_factory.mktemp("demo")
    env = {**os.environ, "KETACARE_DATABASE_URL": f"sqlite:///{d}/demo.db", "KETACARE_DEMO": "true"}
    ketacare = [sys.executable, "-m", "ketacare"]
    subprocess.run([*ketacare, "demo", "--no-serve"], env=env, check=True, capture_output=True, timeout=600)
    proc, base = serve(env, d / "serve.log")
    try:
        served = Served(base)
        served.db_url = env["KETACARE_DATABASE_URL"]
        yield served
    finally:
        stop(proc)


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.skip("Debian's chromium is not installed (.ci/run installs it with apt)")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


def login(page, base: str, username: str, password: str = "ketacare-demo") -> None:
    page.goto(f"{base}/login")
    page.fill("#username", username)
    page.fill("#password", password)
    page.click("button[type=submit]")
    page.wait_for_load_state("networkidle")

