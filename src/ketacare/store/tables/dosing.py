"""Dose orders: the inputs and results of one computed order, its signature and independent double check."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from ketacare.store.tables.base import DATE_PHI, FREE_TEXT, Base, UTCDateTime

DOSE_ORDER_STATUSES = ("draft", "signed", "double_checked", "cancelled")


class DoseOrderRecord(Base):
    """One dose order. Inputs (weight and its date, basis, mg/kg) and results (mg, preparation, rate) are
    stored as columns; `order_json` keeps the whole computed order (`DoseOrder.as_dict()`)."""

    __tablename__ = "dose_orders"

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"))
    protocol_id: Mapped[str] = mapped_column(String(40))
    drug: Mapped[str] = mapped_column(String(80))
    route: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), default="draft")
    # inputs
    weight_kg: Mapped[float | None] = mapped_column(Float)
    weight_measured_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), info=DATE_PHI)
    previous_weight_kg: Mapped[float | None] = mapped_column(Float)
    height_cm: Mapped[float | None] = mapped_column(Float)
    sex: Mapped[str | None] = mapped_column(String(16))
    age_years: Mapped[int | None] = mapped_column(Integer)
    bmi_kg_per_m2: Mapped[float | None] = mapped_column(Float)
    weight_basis: Mapped[str | None] = mapped_column(String(16))
    policy_weight_basis: Mapped[str | None] = mapped_column(String(16))
    weight_basis_reason: Mapped[str | None] = mapped_column(Text, info=FREE_TEXT)
    weight_confirmation: Mapped[str | None] = mapped_column(Text, info=FREE_TEXT)
    soft_limit_reason: Mapped[str | None] = mapped_column(Text, info=FREE_TEXT)
    dosing_weight_kg: Mapped[float | None] = mapped_column(Float)
    mg_per_kg: Mapped[float | None] = mapped_column(Float)
    weight_basis_chosen: Mapped[bool | None] = mapped_column(Boolean)  # the prescriber chose it explicitly
    # results
    dose_mg: Mapped[float] = mapped_column(Float)
    computed_dose_mg: Mapped[float | None] = mapped_column(Float)  # mg/kg x dosing weight, before rounding
    mg_per_kg_actual_weight: Mapped[float | None] = mapped_column(Float)
    delivered_mg_per_kg: Mapped[float | None] = mapped_column(Float)
    vial_strength_mg_per_ml: Mapped[float | None] = mapped_column(Float)
    draw_volume_ml: Mapped[float | None] = mapped_column(Float)
    diluent: Mapped[str | None] = mapped_column(String(80))
    diluent_volume_ml: Mapped[float | None] = mapped_column(Float)
    final_volume_ml: Mapped[float | None] = mapped_column(Float)
    final_concentration_mg_per_ml: Mapped[float | None] = mapped_column(Float)
    volume_ml: Mapped[float | None] = mapped_column(Float)
    rate_ml_per_h: Mapped[float | None] = mapped_column(Float)
    duration_min: Mapped[float] = mapped_column(Float)
    planned_start: Mapped[datetime] = mapped_column(UTCDateTime(), info=DATE_PHI)
    planned_end: Mapped[datetime] = mapped_column(UTCDateTime(), info=DATE_PHI)
    limit_messages: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    order_json: Mapped[dict[str, Any]] = mapped_column(JSON)
    # who and when
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_by_name: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    signed_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    signed_by_name: Mapped[str | None] = mapped_column(String(64))
    signed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    signed_meaning: Mapped[str | None] = mapped_column(String(16))  # what the signature means (signatures.toml)
    double_checked_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    double_checked_by_name: Mapped[str | None] = mapped_column(String(64))
    double_checked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    double_checked_meaning: Mapped[str | None] = mapped_column(String(16))
    double_check_entries: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    cancelled_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    cancel_reason: Mapped[str | None] = mapped_column(Text, info=FREE_TEXT)
    version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = {"version_id_col": version}
    __table_args__ = (
        Index("ix_dose_orders_patient_id_created_at", "patient_id", "created_at"),
        Index("ix_dose_orders_patient_id_status", "patient_id", "status"),
    )
