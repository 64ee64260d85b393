"""Refused fields in plain words: pydantic error types and field labels (data in messages.toml) to sentences."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import cache
from typing import Any

from ketacare.domain.datafiles import load_toml

# Error types whose message a validator or service wrote itself, already in clinic words.
_OWN_WORDS = ("value_error", "assertion_error")


@cache
def _data() -> dict[str, Any]:
    return load_toml("ketacare.http", "messages.toml")


def label(field: str) -> str:
    """Return a field's name in clinic words ("given_name" -> "the patient's given name")."""
    key = field.rsplit(".", 1)[-1]
    if key.isdigit() and "." in field:  # an item of a list: name the list
        key = field.rsplit(".", 2)[-2]
    labels: dict[str, str] = _data()["labels"]
    return labels.get(key, key.replace("_", " "))


def _capital(text: str) -> str:
    return text[:1].upper() + text[1:]


def _clean(msg: str) -> str:
    return msg.removeprefix("Value error, ").removeprefix("Assertion failed, ")


def _limit(ctx: Mapping[str, Any]) -> str:
    for k in ("gt", "ge", "lt", "le", "min_length", "max_length"):
        if k in ctx:
            v = ctx[k]
            return f"{v:g}" if isinstance(v, float) else str(v)
    return ""


def plain_message(error: Mapping[str, Any], field: str) -> str:
    """Return the sentence a person reads for one pydantic error on `field` (e.g. "Enter the patient's given
    name" for a missing or empty name)."""
    kind = str(error.get("type", ""))
    ctx: Mapping[str, Any] = error.get("ctx") or {}
    if kind in _OWN_WORDS or kind not in _data()["types"]:
        return _clean(str(error.get("msg", "check this value")))
    if kind == "string_too_short" and (ctx.get("min_length") == 1 or not str(error.get("input") or "").strip()):
        kind = "missing"
    name = label(field)
    expected = str(ctx.get("expected", "")).replace("'", "")
    template: str = _data()["types"][kind]
    return template.format(label=name, Label=_capital(name), limit=_limit(ctx), expected=expected)


def field_path(loc: Sequence[int | str]) -> str:
    """Turn a pydantic error location into a field name ("medications.2.dose_value")."""
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "form")]
    return ".".join(parts) or "request"
