"""Every report by its name (the API's and the URLs'), in the families the
screens show them in."""
from dataclasses import dataclass

from flask_babel import lazy_gettext as _l

from . import money, patients, people, plans, visits


@dataclass(frozen=True)
class Definition:
    name: str
    family: object  # a lazy string
    title: object
    summary: object  # one line under the title: what is counted
    compute: object  # (session, scope, group_by) → Report
    groups: tuple  # the groupings offered; the first is the default

    @property
    def default_group(self):
        return self.groups[0]


MONEY = _l("Money")
PLANS = _l("Treatment plans")
CHAIRS = _l("Chairs and visits")
TEAM = _l("Team")
PATIENTS = _l("Patients")

REPORTS = {definition.name: definition for definition in (
    Definition("production", MONEY, _l("Production"),
               _l("Services performed, at the price they were invoiced at, by the invoice's date."),
               money.production, money.PRODUCTION_GROUPS),
    Definition("collections", MONEY, _l("Collections"),
               _l("Money received from patients and insurers, refunds subtracted."),
               money.collections, money.COLLECTION_GROUPS),
    Definition("conversion", PLANS, _l("Plan conversion"),
               _l("Plans presented in the range: how many were accepted, started and completed."),
               plans.conversion, plans.CONVERSION_GROUPS),
    Definition("lost_patients", PLANS, _l("Lost patients"),
               _l("Plans accepted in the range whose patients are lost now "
                  "(nothing booked, no call-back, no refusal)."),
               plans.lost_patients, plans.LOST_GROUPS),
    Definition("load", CHAIRS, _l("Chair and doctor load"),
               _l("Booked minutes against the minutes of the shifts, closed days left out."),
               visits.load, visits.LOAD_GROUPS),
    Definition("no_shows", CHAIRS, _l("No-shows and late cancellations"),
               _l("Visits missed or cancelled late, as a share of the visits booked."),
               visits.no_shows, visits.NO_SHOW_GROUPS),
    Definition("recall", CHAIRS, _l("Hygiene recalls"),
               _l("Patients seen for hygiene with their next hygiene visit booked; recalls due and booked."),
               visits.recall, visits.RECALL_GROUPS),
    Definition("tasks", TEAM, _l("Task performance"),
               _l("Tasks due in the range: done, done late, overdue, and the median time to complete."),
               people.tasks, people.TASK_GROUPS),
    Definition("staff_time", TEAM, _l("Staff time"),
               _l("The time clock against the shifts: worked, late and overtime."),
               people.staff_time, people.STAFF_TIME_GROUPS),
    Definition("new_patients", PATIENTS, _l("New patients"),
               _l("Patients registered in the range, by where they came from."),
               patients.new_patients, patients.NEW_PATIENT_GROUPS),
    Definition("ltv", PATIENTS, _l("Lifetime value"),
               _l("Patients registered in the range and the money collected for them ever since."),
               patients.ltv, patients.LTV_GROUPS),
)}
FAMILIES = (MONEY, PLANS, CHAIRS, TEAM, PATIENTS)
