"""Every patient of the demo clinic gets a sound plan from the builder, or the
reason there is none; and the demo's own plans are the builder's."""
import html
import re

from flask_babel import force_locale
from sqlalchemy import select

from stompro.audit.models import AuditLog
from stompro.errors import DomainError
from stompro.extensions import db
from stompro.patients.models import Patient
from stompro.planning.builder import build_plan
from stompro.planning.models import PlanStage, TreatmentPlan
from stompro.catalog.models import TIER_LABELS
from stompro.planning.services import live_stages, live_variants, load_plan, stage_explanation, visit_count
from stompro.scheduling.models import Appointment

from ..conftest import staff_by_login

VISIT = {"en": "Visit ", "ru": "Визит "}
TITLE = {"en": "Treatment plan No. ", "ru": "План лечения № "}


def check_plan(plan, language):
    assert [variant.tier for variant in plan.variants] == ["premium", "optimal", "economy"]
    for variant in plan.variants:
        stages = variant.stages
        assert stages, variant.tier
        assert [stage.position for stage in stages] == list(range(1, len(stages) + 1))
        for stage in stages:
            with force_locale(language):
                explanation = stage_explanation(stage)
            assert stage.items, explanation
            assert explanation.startswith(f"{VISIT[language]}{stage.position} — ")
            assert stage.depends_on is None or stage.depends_on.position < stage.position
            assert stage.duration_min == sum(item.service.duration_min * item.quantity for item in stage.items)
            for item in stage.items:
                assert (item.tooth is None) == (item.service.scope == "mouth"), item.service.code


def test_every_demo_patient_gets_a_plan_or_the_reason(app):
    doctor = staff_by_login("doctor")
    patients = db.session.scalars(select(Patient).where(Patient.deleted_at.is_(None)).order_by(Patient.id)).all()
    built, nothing_to_treat = 0, 0
    for number, patient in enumerate(patients):
        language = ("en", "ru")[number % 2]
        savepoint = db.session.begin_nested()
        try:
            with force_locale(language):
                plan = build_plan(db.session, patient, doctor)
                check_plan(load_plan(db.session, plan.id), language)
            built += 1
        except DomainError as refused:
            assert "Nothing in the chart needs treatment" in str(refused.message), patient
            nothing_to_treat += 1
        finally:
            savepoint.rollback()
    assert built + nothing_to_treat == len(patients)
    assert built >= 150 and nothing_to_treat >= 1, (built, nothing_to_treat)  # 240 of 320 were examined


def seeded_plans():
    """The demo's own plans (browser tests leave soft-deleted plans of their own behind)."""
    return db.session.scalars(
        select(AuditLog.row_id).where(
            AuditLog.table_name == "treatment_plan", AuditLog.action == "insert", AuditLog.actor_login == "seed"
        )
    ).all()


def test_the_demo_plans_are_the_builders(app):
    plans = seeded_plans()
    assert len(plans) >= 50
    for number, plan_id in enumerate(plans):
        plan = load_plan(db.session, plan_id)
        check_plan(plan, ("ru", "en")[number % 2])  # the builder's words, in every reader's language
        assert all(stage.explanation is None for variant in plan.variants for stage in variant.stages)


def test_a_demo_visit_of_a_plan_notes_its_stage_in_the_clinics_language(app):
    rows = db.session.execute(
        select(Appointment.note, PlanStage)
        .join(PlanStage, Appointment.plan_stage_id == PlanStage.id)
        .where(Appointment.deleted_at.is_(None))  # browser tests discard the visits they book
    ).all()
    assert rows
    for note, stage in rows:
        assert note == stage.explanation_generated["ru"]


def screen_visits(page):
    """{tier: "Visits: n" of its column on the plan screen}."""
    return {tier: int(n) for tier, n in re.findall(r'data-variant="\d+" data-tier="(\w+)".*?data-visits[^>]*>[^<:]*: (\d+)<', page, re.S)}


def printout_visits(page, language):
    """{tier: the visits the printout's summary gives it} from the preview's document."""
    document = html.unescape(page)
    with force_locale(language):
        tiers = {str(label): tier for tier, label in TIER_LABELS.items()}
    rows = re.findall(
        r'<td><b>([^<]+)</b>(?:<br/><span class="small">[^<]*</span>)?</td>\s*<td>[^<]*</td>\s*<td class="right">(\d+)</td>',
        document,
    )
    return {tiers[label]: int(n) for label, n in rows}


def test_every_demo_plan_opens_and_previews_its_printout_in_either_language(client, auth):
    differing = 0
    for number, plan_id in enumerate(seeded_plans()):
        language = ("ru", "en")[number % 2]
        auth.as_role("coordinator", language=language)
        plan = db.session.get(TreatmentPlan, plan_id)
        screen = client.get(f"/admin/plan/{plan_id}")
        assert screen.status_code == 200, plan_id
        which = "chosen" if any(variant.chosen for variant in plan.variants) else "all"
        preview = client.get(f"/admin/plan_printout/{plan_id}?which={which}")
        assert preview.status_code == 200, (plan_id, which)
        text = preview.get_data(as_text=True)
        assert plan.patient.last_name in text
        assert f"{TITLE[language]}{plan_id}" in text, (plan_id, language)
        # The screen and the printout count a variant's visits alike.
        on_screen, on_paper = screen_visits(screen.get_data(as_text=True)), printout_visits(text, language)
        assert len(on_screen) == 3 and on_paper and on_paper.items() <= on_screen.items(), (plan_id, on_screen, on_paper)
        counted = {variant.tier: visit_count(variant) for variant in live_variants(load_plan(db.session, plan_id))}
        assert on_screen == counted
        differing += any(counted[v.tier] != len(live_stages(v)) for v in live_variants(plan))
    assert differing  # plans where stages on one day make one visit are among them


def test_the_demo_books_each_plan_visit_for_its_whole_stage(app):
    rows = db.session.execute(
        select(Appointment.starts_at, Appointment.ends_at, PlanStage.duration_min)
        .join(PlanStage, Appointment.plan_stage_id == PlanStage.id)
    ).all()
    assert len(rows) >= 30
    short = [(start, end, minutes) for start, end, minutes in rows if (end - start).total_seconds() < minutes * 60]
    assert not short
