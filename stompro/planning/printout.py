"""The treatment plan printout the patient takes home: the clinic's header,
each variant's chart now and after, its visits in order with *visit —
problem — solution*, duration and cost, the payment schedule by month, and
a comparison of the variants. One document, two outputs: HTML (the browser
preview) and PDF (``stompro.pdf.render_pdf``).

Everything the template prints is prepared here as text — money, dates,
durations — so the template only lays it out. In an insured plan the
insurer's part is listed as manipulations without amounts; only what the
patient pays (the self-paid items) carries prices and a subtotal."""
from contextlib import nullcontext
from dataclasses import dataclass

from flask import render_template
from flask_babel import force_locale, format_date
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from ..catalog.models import TIER_LABELS
from ..chart.odontogram import chart_print_markup, default_dentition
from ..chart.services import variant_charts
from ..errors import DomainError
from ..i18n import localized
from ..pdf import render_pdf
from ..timefmt import format_money, to_local
from .schedule import clinic_today, payment_schedule
from .services import (
    active_items, is_insured, line_amount, live_variants, plan_totals, stage_explanation, visit_count,
)

WHICH = ("all", "chosen")
TIER_TECHNOLOGIES = {
    "premium": _l("Latest-generation technologies and materials"),
    "optimal": _l("Modern proven technologies: the balance of price and quality"),
    "economy": _l("Previous-generation technologies at a lower cost"),
}


@dataclass(frozen=True)
class ItemLine:
    teeth: str
    service: str
    quantity: int
    amount: str  # "" where the amount is not shown (the insured part)


@dataclass(frozen=True)
class StageLine:
    number: int
    date: str
    estimated: bool
    specialist: str
    teeth: str
    items: list  # [ItemLine]
    explanation: str
    duration: str
    cost: str
    flagged: bool


@dataclass(frozen=True)
class MonthLine:
    month: str
    amount: str
    flagged: bool


@dataclass(frozen=True)
class VariantPrint:
    tier: str
    label: str
    technologies: str
    chosen: bool
    chart_was: str
    chart_became: str
    stages: list  # [StageLine]
    total: str  # what the patient pays for the variant
    insured_items: list  # [ItemLine] without amounts; insured plans only
    self_paid_items: list  # [ItemLine] with amounts; insured plans only
    months: list  # [MonthLine]
    any_flagged: bool
    visits: int
    span_months: int
    first_date: str
    last_date: str


def money(amount):
    """Money as the printout shows it: the house format, kept on one line."""
    return format_money(amount).replace(" ", "\u00a0")


def format_day(day):
    return day.strftime("%d.%m.%Y") if day else ""


def format_month(month):
    """The 1st of a month → "March 2027" / "Март 2027" in the current language."""
    text = format_date(month, "LLLL yyyy")
    return text[:1].upper() + text[1:]


def format_duration(minutes):
    hours, rest = divmod(minutes or 0, 60)
    if hours and rest:
        return _("%(hours)s h %(minutes)s min", hours=hours, minutes=rest)
    if hours:
        return _("%(hours)s h", hours=hours)
    return _("%(minutes)s min", minutes=rest)


def tooth_label(item):
    if item.tooth is None:
        return ""
    return f"{item.tooth} {item.surfaces}".strip()


def stage_teeth(items):
    teeth = sorted({item.tooth for item in items if item.tooth is not None})
    if teeth:
        return ", ".join(map(str, teeth))
    return _("whole mouth") if items else ""


def item_line(item, with_amount):
    return ItemLine(
        teeth=tooth_label(item),
        service=localized(item.service),
        quantity=item.quantity,
        amount=money(line_amount(item)) if with_amount else "",
    )


def variant_print(plan, variant, payments, charts, dentition, totals, today):
    insured = is_insured(plan)
    was, became = charts
    stages, insured_items, self_paid_items = [], [], []
    for payment in payments.stages:
        stage = payment.stage
        items = active_items(stage)
        for item in items:
            if insured:
                (self_paid_items if item.self_paid else insured_items).append(item_line(item, item.self_paid))
        stages.append(
            StageLine(
                number=payment.position,
                date=format_day(payment.date),
                estimated=not payment.planned,
                specialist=localized(stage.specialty) if stage.specialty else "",
                teeth=stage_teeth(items),
                items=[item_line(item, False) for item in items],
                explanation=stage_explanation(stage),
                duration=format_duration(stage.duration_min),
                cost=money(payment.amount) if payment.amount or not insured else "—",
                flagged=payment.flagged,
            )
        )
    dates = [p.date for p in payments.stages]
    return VariantPrint(
        tier=variant.tier,
        label=TIER_LABELS[variant.tier],
        technologies=TIER_TECHNOLOGIES.get(variant.tier, ""),
        chosen=variant.chosen,
        chart_was=chart_print_markup(was, dentition, caption=_("The chart now")),
        chart_became=chart_print_markup(became, dentition, caption=_("The chart after treatment")),
        stages=stages,
        total=money(totals.variant(variant).self_paid),
        insured_items=insured_items,
        self_paid_items=self_paid_items,
        months=[MonthLine(format_month(m.month), money(m.amount), m.flagged) for m in payments.months],
        any_flagged=any(p.flagged for p in payments.stages),
        visits=visit_count(variant, today),  # as the plan screen counts them
        span_months=payments.span_months,
        first_date=format_day(min(dates)) if dates else "",
        last_date=format_day(max(dates)) if dates else "",
    )


def printed_variants(plan, which):
    variants = live_variants(plan)
    if which == "chosen":
        variants = [v for v in variants if v.chosen]
        if not variants:
            raise DomainError(_l("No variant is chosen yet: print all three or choose one with the patient."))
    elif which != "all":
        raise DomainError(_l("Print all variants or the chosen one."), "which")
    return variants


def printout_context(session, plan, which="all", today=None):
    """Everything the printout template shows, as ready-made text."""
    today = today or clinic_today()
    sections = []
    totals = plan_totals(plan)
    dentition = None
    for variant in printed_variants(plan, which):
        charts = variant_charts(session, variant)
        if dentition is None:  # the same mouth in every variant: the one the patient has now
            dentition = default_dentition(plan.patient.birth_date, today, charts[0])
        payments = payment_schedule(session, plan, variant, today=today)
        sections.append(variant_print(plan, variant, payments, charts, dentition, totals, today))
    clinic = plan.clinic or (plan.author.clinics[0] if plan.author.clinics else None)
    plan_day = to_local(plan.presented_at or plan.created_at)
    return {
        "plan": plan,
        "clinic": clinic,
        "patient": plan.patient,
        "birth_date": format_day(plan.patient.birth_date),
        "plan_date": format_day(plan_day.date() if plan_day else None),
        "printed_on": format_day(today),
        "doctor": plan.author,
        "doctor_specialty": localized(plan.author.specialty) if plan.author.specialty else "",
        "coordinator": plan.coordinator,
        "insured": is_insured(plan),
        "program": str(plan.policy.program) if plan.policy else "",
        "policy_number": plan.policy.number if plan.policy else "",
        "variants": sections,
        "which": which,
    }


def printout_html(session, plan, which="all", language=None, today=None):
    """The printout as an HTML document (what the PDF is made of), in
    ``language`` when given, else in the current one."""
    with force_locale(language) if language else nullcontext():
        return render_template("planning/printout.html", **printout_context(session, plan, which, today))


def printout_pdf(session, plan, which="all", language=None, today=None):
    """The printout as PDF bytes."""
    return render_pdf(printout_html(session, plan, which, language, today))
