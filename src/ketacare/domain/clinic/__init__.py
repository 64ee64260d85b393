"""Clinic settings rules (issue 13): safe bounds for alert thresholds and the weight policy, phone numbers."""

from ketacare.domain.clinic.settings import (
    ThresholdBound,
    WeightPolicyBounds,
    check_phone,
    check_thresholds,
    dial_href,
    threshold_bounds,
    weight_policy_bounds,
)

__all__ = [
    "ThresholdBound",
    "WeightPolicyBounds",
    "check_phone",
    "check_thresholds",
    "dial_href",
    "threshold_bounds",
    "weight_policy_bounds",
]
