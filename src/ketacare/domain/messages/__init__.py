"""Patient messages (pure): reminder timing on the clinic's wall clock, templates and their placeholders.

Other capabilities use messages only through the names below.
"""

from ketacare.domain.messages.templates import (
    DEFAULT_LOCALE,
    MessageTemplate,
    check_locale,
    check_template,
    placeholders,
    render,
    shipped_templates,
    when_values,
)
from ketacare.domain.messages.timing import (
    ReminderRule,
    RetryPolicy,
    applies_to,
    reminder_rules,
    retry_policy,
    send_at,
)

__all__ = [
    "DEFAULT_LOCALE",
    "MessageTemplate",
    "ReminderRule",
    "RetryPolicy",
    "applies_to",
    "check_locale",
    "check_template",
    "placeholders",
    "reminder_rules",
    "render",
    "retry_policy",
    "send_at",
    "shipped_templates",
    "when_values",
]
