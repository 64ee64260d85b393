"""Measurement-based care: questionnaire responses, one-time links, schedules and reminders (services layer).

Other capabilities use measurement only through the names below.
"""

from ketacare.services.measurement.reminders import SmtpNotConfigured, send_reminders
from ketacare.services.measurement.responses import latest_scores, responses_for_session, submit_response
from ketacare.services.measurement.schemas import ResponseCreate, ScoreSummary
from ketacare.services.measurement.series import score_series

__all__ = [
    "ResponseCreate",
    "ScoreSummary",
    "SmtpNotConfigured",
    "latest_scores",
    "responses_for_session",
    "score_series",
    "send_reminders",
    "submit_response",
]
