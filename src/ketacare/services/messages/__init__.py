"""Patient messages (services layer): `outbox` (reminders due, change notices, the sender), `templates`
(clinic-editable wording, versioned), `preferences` (opt-out of non-essential messages), `log` (the message log),
`loop` (the optional in-process sender), `schemas`.

Other capabilities use messages only through the names below.
"""

from ketacare.services.messages.log import messages
from ketacare.services.messages.loop import SenderLoop
from ketacare.services.messages.outbox import (
    QUESTIONNAIRE_TEMPLATE,
    log_questionnaire,
    queue_change,
    queue_due,
    send_due,
)
from ketacare.services.messages.preferences import opted_out
from ketacare.services.messages.preferences import read as read_preference
from ketacare.services.messages.preferences import update as update_preference
from ketacare.services.messages.schemas import (
    MessageRead,
    PreferenceRead,
    PreferenceUpdate,
    SendReport,
    TemplateRead,
    TemplateUpdate,
)
from ketacare.services.messages.smtp import Mailer, SmtpNotConfigured
from ketacare.services.messages.smtp import require as require_smtp
from ketacare.services.messages.templates import history as template_history
from ketacare.services.messages.templates import list_templates
from ketacare.services.messages.templates import save as save_template

__all__ = [
    "QUESTIONNAIRE_TEMPLATE",
    "Mailer",
    "MessageRead",
    "PreferenceRead",
    "PreferenceUpdate",
    "SendReport",
    "SenderLoop",
    "SmtpNotConfigured",
    "TemplateRead",
    "TemplateUpdate",
    "list_templates",
    "log_questionnaire",
    "messages",
    "opted_out",
    "require_smtp",
    "queue_change",
    "queue_due",
    "read_preference",
    "save_template",
    "send_due",
    "template_history",
    "update_preference",
]
