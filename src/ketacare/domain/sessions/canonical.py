"""Canonical JSON for signed session records, and its SHA-256 digest.

Sorted keys, no whitespace, UTF-8 (no ASCII escaping), numbers in the RFC 8785 (JCS) / ECMAScript style so
the same record hashes the same in any language: integral floats lose their ".0", exponents appear only
below 1e-6 or from 1e21. NaN and infinities are refused. Dataclasses, enums, tuples, sets and datetimes
(ISO 8601) are converted first. Keys sort by code point (JCS sorts by UTF-16 unit; equal for BMP text).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
from datetime import date, datetime, time
from decimal import Decimal
from enum import Enum
from typing import Any

from ketacare.domain.errors import InvalidValue


def _format_float(x: float, path: str) -> str:
    if not math.isfinite(x):
        raise InvalidValue(path, "a signed record cannot hold NaN or infinity")
    if x == 0:
        return "0"
    sign = "-" if x < 0 else ""
    # repr gives the shortest round-trip digits; re-layout them the ECMAScript way (Number::toString).
    tup = Decimal(repr(abs(x))).normalize().as_tuple()
    digits = "".join(map(str, tup.digits))
    k = len(digits)
    n = int(tup.exponent) + k
    if k <= n <= 21:
        body = digits + "0" * (n - k)
    elif 0 < n <= 21:
        body = digits[:n] + "." + digits[n:]
    elif -6 < n <= 0:
        body = "0." + "0" * (-n) + digits
    else:
        e = n - 1
        mant = digits if k == 1 else digits[0] + "." + digits[1:]
        body = f"{mant}e{'+' if e >= 0 else '-'}{abs(e)}"
    return sign + body


def _scalar(obj: Any, path: str) -> str | None:
    """Return the JSON text of a scalar (None, bool, number, text, date/time), or None if not one."""
    if obj is None:
        return "null"
    if obj is True:
        return "true"
    if obj is False:
        return "false"
    if isinstance(obj, int):
        return str(obj)
    if isinstance(obj, float):
        return _format_float(obj, path)
    if isinstance(obj, str):
        return json.dumps(obj, ensure_ascii=False)
    if isinstance(obj, datetime | date | time):
        return json.dumps(obj.isoformat(), ensure_ascii=False)
    return None


def _encode_dict(obj: dict[Any, Any], path: str, out: list[str]) -> None:
    for key in obj:
        if not isinstance(key, str):
            raise InvalidValue(path, f"record keys must be text, got {key!r}")
    out.append("{")
    for i, key in enumerate(sorted(obj)):
        if i:
            out.append(",")
        out.append(json.dumps(key, ensure_ascii=False))
        out.append(":")
        _encode(obj[key], f"{path}.{key}", out)
    out.append("}")


def _encode(obj: Any, path: str, out: list[str]) -> None:
    if isinstance(obj, Enum):
        _encode(obj.value, path, out)
        return
    text = _scalar(obj, path)
    if text is not None:
        out.append(text)
    elif dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        _encode({f.name: getattr(obj, f.name) for f in dataclasses.fields(obj)}, path, out)
    elif isinstance(obj, dict):
        _encode_dict(obj, path, out)
    elif isinstance(obj, list | tuple):
        out.append("[")
        for i, item in enumerate(obj):
            if i:
                out.append(",")
            _encode(item, f"{path}[{i}]", out)
        out.append("]")
    elif isinstance(obj, frozenset | set):
        _encode(sorted(obj), path, out)
    else:
        raise InvalidValue(path, f"cannot put a {type(obj).__name__} in a signed record")


def canonical_json(obj: Any) -> bytes:
    """Return `obj` as canonical JSON bytes (sorted keys, no whitespace, UTF-8, deterministic numbers)."""
    out: list[str] = []
    _encode(obj, "record", out)
    return "".join(out).encode("utf-8")


def record_digest(obj: Any) -> str:
    """Return the SHA-256 hex digest of `canonical_json(obj)`."""
    return hashlib.sha256(canonical_json(obj)).hexdigest()
