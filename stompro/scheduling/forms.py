"""The weekly pattern a branch's shifts are made from."""
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, FormField, SelectField
from wtforms.validators import Optional

from ..admin.forms import ClinicDateField, ClinicTimeField

WEEKDAYS = (
    (1, _l("Monday")), (2, _l("Tuesday")), (3, _l("Wednesday")), (4, _l("Thursday")),
    (5, _l("Friday")), (6, _l("Saturday")), (7, _l("Sunday")),
)


class DayHours(FlaskForm):
    """One weekday of the pattern: worked or not, from when to when."""

    class Meta:
        csrf = False  # part of the pattern form, which carries the token

    works = BooleanField(_l("Works"))
    starts = ClinicTimeField(_l("From"), validators=[Optional()])
    ends = ClinicTimeField(_l("To"), validators=[Optional()])


class ShiftPatternForm(FlaskForm):
    """Who, where, over which days, and the hours of each weekday."""

    staff = SelectField(_l("Staff member"), coerce=int)
    clinic = SelectField(_l("Branch"), coerce=int)
    room = SelectField(_l("Chair"), coerce=int)
    first_day = ClinicDateField(_l("First day"))
    last_day = ClinicDateField(_l("Last day"))
    day_1 = FormField(DayHours, label=WEEKDAYS[0][1])
    day_2 = FormField(DayHours, label=WEEKDAYS[1][1])
    day_3 = FormField(DayHours, label=WEEKDAYS[2][1])
    day_4 = FormField(DayHours, label=WEEKDAYS[3][1])
    day_5 = FormField(DayHours, label=WEEKDAYS[4][1])
    day_6 = FormField(DayHours, label=WEEKDAYS[5][1])
    day_7 = FormField(DayHours, label=WEEKDAYS[6][1])

    def days(self):
        return [(number, getattr(self, f"day_{number}")) for number, _ in WEEKDAYS]

    def week(self):
        """{ISO weekday: (start, end)} of the days ticked."""
        return {number: (day.starts.data, day.ends.data) for number, day in self.days() if day.works.data}
