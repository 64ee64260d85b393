"""The optional in-process sender: a thread that runs `send_due` every N seconds while the server runs (off by
default; KETACARE_MESSAGES_LOOP_SECONDS > 0 turns it on). Cron running `ketacare messages send` does the same job;
running both is safe (each message goes once)."""

from __future__ import annotations

import logging
import threading

from ketacare.config import Settings
from ketacare.services.messages.outbox import send_due
from ketacare.store.db import Database

log = logging.getLogger("ketacare.messages")


class SenderLoop:
    """A daemon thread sending due messages every `interval` seconds until `stop()`."""

    def __init__(self, db: Database, settings: Settings, interval: float) -> None:
        self.db, self.settings, self.interval = db, settings, interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="ketacare-messages", daemon=True)

    def start(self) -> None:
        """Start sending."""
        self._thread.start()

    def stop(self) -> None:
        """Stop after the current run."""
        self._stop.set()
        self._thread.join(timeout=self.interval + 30)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                report = send_due(db=self.db, settings=self.settings)
                if report.sent or report.failed:
                    log.info("messages: %d sent, %d failed", report.sent, report.failed)
            except Exception:  # keep the loop alive; the next run retries
                log.exception("message sender run failed")
