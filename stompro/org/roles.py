"""The six roles of a clinic and the sets of them that views declare."""
from flask_babel import lazy_gettext as _l

OWNER = "owner"
DOCTOR = "doctor"
ADMINISTRATOR = "administrator"
COORDINATOR = "coordinator"
CALL_CENTER = "call_center"
CASHIER = "cashier"

ROLES = (OWNER, DOCTOR, ADMINISTRATOR, COORDINATOR, CALL_CENTER, CASHIER)

ROLE_LABELS = {
    OWNER: _l("Owner"),
    DOCTOR: _l("Doctor"),
    ADMINISTRATOR: _l("Administrator"),
    COORDINATOR: _l("Coordinator"),
    CALL_CENTER: _l("Call center"),
    CASHIER: _l("Cashier"),
}

EVERYONE = frozenset(ROLES)
NOBODY = frozenset()
OWNER_ONLY = frozenset({OWNER})
FRONT_DESK = frozenset({OWNER, ADMINISTRATOR, CALL_CENTER})
CLINICAL = frozenset({OWNER, DOCTOR})
PLANNING = frozenset({OWNER, DOCTOR, COORDINATOR})
MONEY = frozenset({OWNER, CASHIER})
PATIENT_WRITERS = frozenset({OWNER, DOCTOR, ADMINISTRATOR, COORDINATOR, CALL_CENTER})
