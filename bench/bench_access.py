"""Login refusals take about the same time whichever factor failed (issue 14 item 4): median per kind, interleaved.

Production password hashing (argon2id) is what makes a refusal cost its time, so the spread between kinds is the
figure: a refusal that skipped the password check would show as a kind several times faster than the others.
"""

from __future__ import annotations

import statistics
import time

from bench.common import fresh_database
from ketacare.config import Settings
from ketacare.services import clock
from ketacare.services.access import LoginRequest, UserCreate, auth, system_actor, totp, users
from ketacare.services.errors import Unauthenticated

PASSWORD = "bench access password 2026"


def run(quick: bool = False) -> list[dict]:
    """Median time of each kind of refused login, and the largest difference between kinds."""
    rounds = 8 if quick else 30
    with fresh_database("sqlite", "access") as db:
        sysact = system_actor("bench")
        users.create_user(db=db, actor=sysact, data=UserCreate(
            username="benchdoc", display_name="Bench Doc", role="prescriber", password=PASSWORD))
        users.enable_totp(db=db, actor=sysact, username="benchdoc")
        settings = Settings(database_url=db.url, login_max_failures=10**6, login_account_max_failures=10**6)
        from sqlalchemy import select

        from ketacare.store.tables import User

        with db.session() as s:
            secret = s.scalar(select(User.totp_secret).where(User.username == "benchdoc"))

        def wrong_code() -> str:
            return f"{(int(totp.code_at(secret, clock.now())) + 1) % 1_000_000:06d}"

        kinds = {
            "wrong password": lambda: ("benchdoc", "not the password at all", None),
            "right password, no code": lambda: ("benchdoc", PASSWORD, None),
            "right password, wrong code": lambda: ("benchdoc", PASSWORD, wrong_code()),
            "unknown user": lambda: ("nobody-here", PASSWORD, None),
        }
        times: dict[str, list[float]] = {k: [] for k in kinds}
        for _ in range(rounds):
            for name, make in kinds.items():  # interleaved: every kind sees the same machine conditions
                username, password, code = make()
                data = LoginRequest(username=username, password=password, totp_code=code)
                t0 = time.perf_counter()
                try:
                    auth.login(db=db, settings=settings, data=data, address="192.0.2.1")
                except Unauthenticated:
                    pass
                times[name].append((time.perf_counter() - t0) * 1000.0)
    medians = {k: statistics.median(v) for k, v in times.items()}
    spread = (max(medians.values()) - min(medians.values())) / min(medians.values()) * 100.0
    rows = [{"name": f"refused login: {k} (median)", "value": v, "unit": "ms", "target": "-", "ok": None}
            for k, v in medians.items()]
    rows.append({"name": "largest difference between kinds of refusal", "value": spread, "unit": "%",
                 "target": "<= 25 %", "ok": spread <= 25.0,
                 "note": f"{rounds} interleaved rounds, SQLite, production argon2id parameters"})
    return rows
