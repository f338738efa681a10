"""The titles of the tasks the rules make, stored in the clinic's language
(DEFAULT_LANGUAGE) when a task is made: one place for the rules and the
lost patients' one-click task."""
from flask_babel import lazy_gettext as _l

TITLES = {
    "confirm_tomorrow": _l("Confirm the visit"),
    "care_call_after_surgery": _l("Ask how the patient is after the operation"),
    "hygiene_recall": _l("Invite to the regular hygiene visit"),
    "plan_continuation": _l("Book the next visit of the plan"),
    "vip_birthday": _l("Congratulate on the birthday"),
    "unsigned_documents": _l("Documents to sign before the visit"),
}
