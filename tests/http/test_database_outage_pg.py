"""A PostgreSQL outage, for real (issue 15): the test starts a private PostgreSQL server (never the machine's
shared one), stops it under the app and starts it again. While it is down every request answers 503 with
Retry-After without hanging; afterwards the app recovers by itself; every write acknowledged before and after the
outage is stored."""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select

from ketacare.app import create_app
from ketacare.config import Settings
from ketacare.store.db import PING_AFTER_IDLE_S, Database
from ketacare.store.migrate import upgrade
from ketacare.store.tables import Patient
from tests.conftest import make_personas
from tests.http.conftest import Clients

pytestmark = pytest.mark.postgres
BIN = next(iter(sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True)), None)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class PrivateServer:
    """A throw-away PostgreSQL cluster in a temporary folder, on a free loopback port."""

    def __init__(self) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="kc-pg-"))
        self.data, self.port = self.dir / "data", _free_port()
        self.as_owner = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        if self.as_owner:
            shutil.chown(self.dir, "postgres")
        self._run("initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres", "--no-sync")
        self.url = f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, tool: str, *args: str) -> None:
        subprocess.run([*self.as_owner, f"{BIN}/{tool}", *args], check=True, capture_output=True)  # noqa: S603

    def start(self) -> None:
        opts = f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._run("pg_ctl", "-D", str(self.data), "-o", opts, "-w", "-l", str(self.dir / "log"), "start")

    def stop(self) -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop")

    def remove(self) -> None:
        subprocess.run(
            [*self.as_owner, f"{BIN}/pg_ctl", "-D", str(self.data), "-m", "immediate", "stop"],  # noqa: S603
            capture_output=True,
            check=False,
        )
        shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture
def server():
    if BIN is None or (os.geteuid() == 0 and shutil.which("runuser") is None):
        pytest.skip("the PostgreSQL server binaries (initdb, pg_ctl) are not installed")
    srv = PrivateServer()
    srv.start()
    yield srv
    srv.remove()


def _new_patient(api, k: int):
    body = {
        "given_name": f"Outage{k}",
        "family_name": "Test",
        "date_of_birth": "1980-01-01",
        "sex_at_birth": "female",
        "confirm_not_duplicate": True,  # the same birth date and similar names on purpose
    }
    return api.post("/api/v1/patients", json=body)


def test_an_outage_answers_503_quickly_and_the_app_recovers_by_itself(server):
    db = Database(server.url, connect_timeout_s=1)
    upgrade(db)
    personas = make_personas(db)
    app = create_app(Settings(database_url=server.url, db_connect_timeout_s=1), db=db)
    clients = Clients(app, personas)
    api, web = clients.api("prescriber"), clients.web("prescriber")
    acknowledged = [k for k in range(3) if _new_patient(api, k).status_code == 201]
    assert acknowledged == [0, 1, 2]

    server.stop()
    slowest = 0.0
    for call in (
        lambda: api.get("/api/v1/patients"),
        lambda: _new_patient(api, 99),
        lambda: web.get("/patients"),
        lambda: api.get("/readyz"),
    ):
        t0 = time.monotonic()
        r = call()
        slowest = max(slowest, time.monotonic() - t0)
        assert r.status_code == 503, r.text
        assert int(r.headers["Retry-After"]) > 0
    print(f"slowest request while the database was down: {slowest:.2f} s")
    assert "Connection to the database lost" in web.get("/patients").text
    assert slowest < 5, (
        f"a request waited {slowest:.1f} s while the database was down"
    )  # generous; bench has 2 s

    server.start()
    acknowledged += [k for k in range(3, 6) if _new_patient(api, k).status_code == 201]
    assert api.get("/readyz").status_code == 200

    # A restart nobody noticed (no request while it was down): the pooled connections are dead, and the first
    # request after it must not be the one that finds out.
    server.stop()
    server.start()
    time.sleep(PING_AFTER_IDLE_S)
    acknowledged += [k for k in range(6, 7) if _new_patient(api, k).status_code == 201]
    assert acknowledged == [0, 1, 2, 3, 4, 5, 6]
    with db.session() as s:
        stored = s.scalar(select(func.count()).select_from(Patient).where(Patient.family_name == "Test"))
    assert stored == len(acknowledged)  # nothing acknowledged was lost, nothing refused was stored
    db.dispose()
