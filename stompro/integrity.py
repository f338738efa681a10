"""Turning database constraint violations into messages a person can act on.

Constraint names follow the metadata's naming convention, so the table and
rule can be read back from the name the database reports."""
import re

from flask_babel import lazy_gettext as _l

from .extensions import db

# Rule name (the part after ``ck_<table>_``) → (field, message).
CHECK_MESSAGES = {
    "ends_after_start": ("ends_at", _l("The end must be after the start.")),
    "out_after_in": ("clock_out", _l("Clock-out must be after clock-in.")),
    "price": ("price", _l("The price cannot be negative.")),
    "amount": ("amount", _l("The amount must be positive.")),
    "quantity": ("quantity", _l("The quantity must be greater than zero.")),
    "discount": ("discount", _l("The discount must be between zero and the line amount.")),
    "fdi_tooth": ("tooth", _l("This tooth does not exist in FDI notation (11–48, 51–85).")),
    "surfaces": ("surfaces", _l("Surfaces are letters M, O, I, D, B, V, L, P, each at most once.")),
    "duration": ("duration_min", _l("The duration must be greater than zero.")),
    "min_gap_days": ("min_gap_days", _l("The gap in days cannot be negative.")),
    "validity": ("valid_to", _l("The end of validity cannot be before its start.")),
    "hours": ("closes_at", _l("Closing time must be after opening time.")),
    "decline_reason": ("decline_reason", _l("A declined plan needs a reason.")),
    "insurance_needs_policy": ("policy", _l("An insured plan needs an insurance policy.")),
    "insurer": ("insurance_company", _l("An insurance invoice needs an insurance company.")),
    "call_back_needs_time": ("call_back_at", _l("“Call back” needs the time to call back.")),
    "removal_justified": ("removal_justification", _l("Removing an item needs a written justification.")),
    "signed_has_time": ("signed_at", _l("A signed document needs the time of signing.")),
    "priority": ("priority", _l("Priority is from 1 (highest) to 5.")),
    "color": ("color", _l("A colour is written as #RRGGBB.")),
}

# PostgreSQL's exclusion constraints against double booking: met only when
# two people book the same time at the same moment (the services look first).
OVERLAP_MESSAGES = {
    "ex_appointment_doctor_id_overlap": ("doctor", _l("Someone has just booked the doctor at that time; choose another time.")),
    "ex_appointment_room_id_overlap": ("room", _l("Someone has just booked the chair at that time; choose another time.")),
    "ex_appointment_patient_id_overlap": ("patient", _l("Someone has just booked the patient at that time; choose another time.")),
}

_CHECK_NAME = re.compile(r"\b(ck_[a-z_]+)")
_SQLITE_UNIQUE = re.compile(r"UNIQUE constraint failed: ([\w.]+(?:, [\w.]+)*)")


def explain_integrity_error(error):
    """Return ``(field or None, message)`` for an IntegrityError."""
    orig = getattr(error, "orig", error)
    text = str(orig)
    diag = getattr(orig, "diag", None)
    name = getattr(diag, "constraint_name", None)

    if name and name in OVERLAP_MESSAGES:
        return OVERLAP_MESSAGES[name]

    unique_columns = _unique_columns(name, text)
    if unique_columns:
        field = unique_columns[-1]
        return field, _l("A record with this %(field)s already exists.", field=_label(field))

    check = name if name and name.startswith("ck_") else None
    if check is None and (match := _CHECK_NAME.search(text)):
        check = match.group(1)
    if check:
        rule = _check_rule(check)
        if rule in CHECK_MESSAGES:
            return CHECK_MESSAGES[rule]
        return None, _l("The value breaks the rule “%(rule)s”.", rule=_label(rule))

    if "NOT NULL" in text or "null value" in text:
        column = getattr(diag, "column_name", None) or text.rsplit(".", 1)[-1].split()[0]
        return column, _l("This field is required.")
    if "FOREIGN KEY" in text.upper():
        return None, _l("This record is linked to other records and cannot be changed this way.")
    return None, _l("The record breaks a rule of the database.")


def _label(name):
    """The field's label in the reader's language, lower-cased for a sentence."""
    from .admin.labels import LABELS

    return str(LABELS.get(name, name.replace("_", " "))).lower()


def _unique_columns(name, text):
    if name and name.startswith("uq_"):
        for table in db.metadata.tables.values():
            for constraint in table.constraints:
                if constraint.name == name:
                    return [c.name for c in constraint.columns]
    match = _SQLITE_UNIQUE.search(text)
    if match:
        return [part.split(".")[-1] for part in match.group(1).split(", ")]
    return []


def _check_rule(constraint_name):
    for table in sorted(db.metadata.tables, key=len, reverse=True):
        prefix = f"ck_{table}_"
        if constraint_name.startswith(prefix):
            return constraint_name[len(prefix):]
    return constraint_name.removeprefix("ck_")
