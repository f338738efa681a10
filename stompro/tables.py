"""Which tables are edited freely and which carry rules: the split that every
generic screen (stompro/admin/base.py), and every other path, obeys.

- REFERENCE: settings and reference data. The owner edits them in the
  generic screens as typed; the database's constraints and the forms' bounds
  are their only rules. Rows in use are deactivated, not deleted.
- RECORDS: records that carry rules. Every change goes through the domain's
  service functions — the custom screen, the API, the CLI, or a generic form
  whose ``writes`` (admin.base.Writes) calls those same functions; a table
  whose generic screen has no ``writes`` function for an action does not
  offer it. The value says where the rules live.
- LOGS: written by the system alone, never changed or deleted.

tests/admin/test_write_paths.py reads this module: every table of the
schema is in exactly one group, and every generic screen of a RECORDS table
declares its ``writes``.
"""

REFERENCE = frozenset({
    "clinic", "room", "specialty", "staff_clinic",
    "service", "price_list", "price_list_item", "protocol", "protocol_step",
    "condition", "diagnosis",
    "insurance_company", "insurance_program", "insurance_program_service",
    "document_template", "message_template", "task_rule",
})

RECORDS = {
    "staff": "org.services: accounts, roles, branches, passwords; never deleted",
    "staff_role": "org.services.set_roles",
    "patient": "patients.services: phone validity, possible duplicates, soft delete",
    "patient_tag": "patients.services (saved with the patient)",
    "insurance_policy": "patients.services: validity dates, the patient's own",
    "tooth_finding": "chart.services.record_findings: doctors only, author and time from the server, never edited (a correction is a new finding)",
    "exam": "chart.exams: the author's draft, signed entries locked, corrections are addenda",
    "attachment": "chart.attachments: uploaded on the chart pages, described and soft-deleted by clinicians",
    "treatment_plan": "planning.services on the plan screen and the API: status flow, frozen prices, patient and author fixed",
    "plan_variant": "planning.services (the plan screen)",
    "plan_stage": "planning.services (the plan screen)",
    "plan_item": "planning.services (the plan screen): frozen prices, mandatory steps removed only with a justification",
    "payment_schedule": "planning.schedule: computed from the chosen variant",
    "appointment": "scheduling.services: inside the doctor's shift and the branch's hours, no double booking (also in the database), the status flow, a reason to cancel",
    "shift": "scheduling.shifts: a person of the branch, no overlaps, made one by one or from a weekly pattern; soft delete",
    "closure": "scheduling.shifts.save_closure: a branch of the person's, days in order, a reason",
    "absence": "scheduling.shifts.save_absence: a colleague, days in order; soft delete",
    "waiting_entry": "scheduling.waiting: a live patient, what and when they would take, until when",
    "task": "tasks.services: who did it and when from the server; cancelled, not deleted",
    "message": "messaging: the outbox is written by the reminder machinery",
    "patient_document": "documents.services: drafts of a branch; signed at the server's time, then never changed or deleted (a flush guard)",
    "performed_service": "billing.performed: marked at the visit by its doctor, priced when marked, invoiced once; soft delete before it is issued",
    "invoice": "billing.services: numbered per branch and year without gaps; draft → issued → partly paid → paid, or cancelled with a reason; never deleted",
    "invoice_line": "billing.services: only a draft invoice's lines, priced from today's price list or the plan",
    "payment": "billing.services: received by the signed-in person, numbered receipts; only its note changes; refunds are negative with a reason; the owner's recycle bin",
    "time_clock": "timeclock.services: one open entry per person, none overlapping; the owner's recycle bin",
}

LOGS = frozenset({"audit_log", "patient_access", "sign_in_failure"})

# Tables whose rows may be hard-deleted: parts of another row that a form
# edits as a list (a patient's tags, a person's roles, a protocol's steps),
# the payment schedule recomputed from its plan, and the sign-in throttle's
# expired failures. Everything else is soft-deleted or never deleted
# (records.py refuses it, whatever the path).
HARD_DELETABLE = frozenset({"patient_tag", "staff_role", "protocol_step", "payment_schedule", "sign_in_failure"})


def group_of(table_name):
    if table_name in REFERENCE:
        return "reference"
    if table_name in RECORDS:
        return "records"
    if table_name in LOGS:
        return "logs"
    return None
