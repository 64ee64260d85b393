"""Measurement-based care: questionnaire responses, one-time links, schedules and reminders (services layer).

Other capabilities use measurement only through the names below.
"""

from ketacare.services.measurement.reminders import SmtpNotConfigured, send_reminders
from ketacare.services.measurement.responses import (
    latest_scores,
    latest_scores_by_session,
    responses_for_session,
    responses_for_sessions,
    submit_response,
)
from ketacare.services.measurement.schemas import ResponseCreate, ScoreSummary

__all__ = [
    "ResponseCreate",
    "ScoreSummary",
    "SmtpNotConfigured",
    "latest_scores",
    "latest_scores_by_session",
    "responses_for_session",
    "responses_for_sessions",
    "send_reminders",
    "submit_response",
]
