"""Signed checkpoints of the audit chain, written to a directory the database user cannot write.

A checkpoint says "event N had hash H and seal S" for the newest event of every stripe of the chain, signed
with the Ed25519 key derived from the audit key. Verification compares the chain with every checkpoint, so
events removed from the end (with the chain head moved back) or a chain rewritten with a stolen database login
are caught up to the newest checkpoint.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy import text
from sqlalchemy.engine import make_url

from ketacare.config import Settings
from ketacare.services import clock
from ketacare.services.access.actor import Actor
from ketacare.services.access.audit import Checkpoint, Finding
from ketacare.services.access.audit_keys import AuditKey
from ketacare.services.uow import UnitOfWork
from ketacare.store.db import Database

PUBLIC_KEY_FILE = "public.key"


@dataclass(frozen=True)
class CheckpointWritten:
    path: str
    seq: int
    hash: str
    created: bool


def checkpoint_dir(settings: Settings, database_url: str) -> Path:
    """Return the checkpoint directory: the configured one, else one named after the database."""
    if settings.audit_checkpoint_dir:
        return Path(settings.audit_checkpoint_dir)
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
        return Path(f"{url.database}.audit-checkpoints")
    return Path("var") / "audit-checkpoints" / f"{url.host or 'local'}-{url.port or 5432}-{url.database}"


def _signed_bytes(body: dict[str, object]) -> bytes:
    return json.dumps(body, sort_keys=True, separators=(",", ":")).encode("utf-8")


def write_checkpoint(*, db: Database, actor: Actor, key: AuditKey, directory: Path) -> CheckpointWritten:
    """Sign the newest event of every stripe into `directory` (one file per checkpoint, never overwritten)."""
    with UnitOfWork(db, actor) as uow:
        uow.authorize("verify", "audit")
        s = uow.session
        stripes = s.scalars(text("SELECT DISTINCT id FROM audit_chain_head UNION SELECT 1 ORDER BY 1")).all()
        heads = []
        for stripe in stripes:
            newest = s.execute(text("SELECT seq, hash, seal FROM audit_events WHERE stripe = :s "
                                    "ORDER BY stripe_seq DESC LIMIT 1"), {"s": stripe}).first()
            if newest is not None:
                heads.append((int(newest.seq), str(newest.hash), newest.seal))
        if not heads:
            raise ValueError("the audit chain is empty: nothing to checkpoint")
        heads.sort()
        seq, digest, seal = heads[-1]
        body: dict[str, object] = {"seq": seq, "hash": digest, "seal": seal,
                                   "heads": [list(h) for h in heads],
                                   "written_at": clock.now().strftime("%Y-%m-%dT%H:%M:%SZ")}
        signature = key.signing_key.sign(_signed_bytes(body)).hex()
        directory.mkdir(parents=True, exist_ok=True)
        pub = directory / PUBLIC_KEY_FILE
        if not pub.exists():
            pub.write_text(key.public_key_hex() + "\n", encoding="utf-8")
        path = directory / f"{seq:012d}.json"
        created = not path.exists()
        if created:
            tmp = directory / f".{path.name}.tmp"
            tmp.write_text(json.dumps({**body, "signature": signature}, indent=1) + "\n", encoding="utf-8")
            os.replace(tmp, path)
        uow.audit("verify", "audit", details={"checkpoint": path.name, "seq": seq})
    return CheckpointWritten(str(path), seq, digest, created)


def _public_key(key: AuditKey | None, directory: Path) -> Ed25519PublicKey | None:
    if key is not None:
        return key.public_key
    pub = directory / PUBLIC_KEY_FILE
    if pub.exists():
        return Ed25519PublicKey.from_public_bytes(bytes.fromhex(pub.read_text(encoding="utf-8").strip()))
    return None


def load_checkpoints(directory: Path, key: AuditKey | None) -> tuple[list[Checkpoint], list[Finding]]:
    """Read and check the signature of every checkpoint in `directory`; a bad one is a finding."""
    if not directory.is_dir():
        return [], []
    public = _public_key(key, directory)
    good: list[Checkpoint] = []
    bad: list[Finding] = []
    for path in sorted(directory.glob("*.json")):
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            signature = bytes.fromhex(str(data.pop("signature")))
            heads = tuple((int(h[0]), str(h[1]), h[2]) for h in data.get("heads", ()))
            cp = Checkpoint(path.name, int(data["seq"]), str(data["hash"]), data.get("seal"), str(data["written_at"]),
                            heads)
        except (ValueError, KeyError, TypeError, AttributeError):
            bad.append(Finding(None, f"checkpoint {path.name} cannot be read"))
            continue
        if public is None:
            bad.append(Finding(cp.seq, f"checkpoint {path.name} cannot be checked: no audit key or public key"))
            continue
        try:
            public.verify(signature, _signed_bytes(data))
        except InvalidSignature:
            bad.append(Finding(cp.seq, f"checkpoint {path.name} is not signed by the audit key (forged or altered)"))
            continue
        good.append(cp)
    return good, bad
