"""Measurement-based care: questionnaire responses, one-time links, schedules and reminders (services layer).

Other capabilities use measurement only through the names below.
"""

from ketacare.services.measurement.reminders import send_reminders
from ketacare.services.measurement.responses import (
    crisis_resources,
    latest_scores,
    latest_scores_by_session,
    raise_safety_alert,
    responses_for_session,
    responses_for_sessions,
    submit_response,
)
from ketacare.services.measurement.schedule import my_due
from ketacare.services.measurement.schemas import CrisisResources, ResponseCreate, ScoreSummary
from ketacare.services.measurement.series import score_series
from ketacare.services.messages import SmtpNotConfigured

__all__ = [
    "CrisisResources",
    "ResponseCreate",
    "ScoreSummary",
    "SmtpNotConfigured",
    "crisis_resources",
    "latest_scores",
    "latest_scores_by_session",
    "my_due",
    "raise_safety_alert",
    "responses_for_session",
    "responses_for_sessions",
    "score_series",
    "send_reminders",
    "submit_response",
]
