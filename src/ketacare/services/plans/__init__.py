"""Treatment course (services layer). `safety`: course-safety records (pregnancy tests, toxicology, misuse
checklists, PUF totals) and the checks the session pre-checks read.

Other capabilities use plans only through the names below.
"""

from ketacare.services.plans.safety import (
    CourseChecks,
    course_checks,
    course_safety,
    pregnancy_methods,
    record_misuse_check,
    record_pregnancy_applicability,
    record_pregnancy_test,
    record_puf,
    record_tox_result,
)
from ketacare.services.plans.schemas import (
    CheckRead,
    CourseSafetyRead,
    MisuseCheckIn,
    PregnancyApplicabilityIn,
    PregnancyTestIn,
    PufIn,
    SafetyRecordRead,
    ToxResultIn,
)

__all__ = [
    "CheckRead",
    "CourseChecks",
    "CourseSafetyRead",
    "MisuseCheckIn",
    "PregnancyApplicabilityIn",
    "PregnancyTestIn",
    "PufIn",
    "SafetyRecordRead",
    "ToxResultIn",
    "course_checks",
    "course_safety",
    "pregnancy_methods",
    "record_misuse_check",
    "record_pregnancy_applicability",
    "record_pregnancy_test",
    "record_puf",
    "record_tox_result",
]
