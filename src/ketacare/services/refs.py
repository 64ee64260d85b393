"""Bounded numbers that refer to stored records: ids and optimistic-locking versions sent by a client."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

# Record ids are INTEGER columns: 32-bit on PostgreSQL. A larger number names no record and cannot be stored in an
# audit event either, so it is refused as input (HTTP 422 naming the field) before anything looks it up.
MAX_RECORD_ID = 2**31 - 1

RecordRef = Annotated[int, Field(ge=1, le=MAX_RECORD_ID)]
Version = Annotated[int, Field(ge=1, le=MAX_RECORD_ID, description="The version you read (optimistic locking)")]
BaseVersion = Annotated[int, Field(ge=0, le=MAX_RECORD_ID, description="The version this edit started from")]
