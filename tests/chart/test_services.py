"""The current chart is the latest finding per tooth (and surface); history stays."""
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from stompro.chart.models import ToothFinding
from stompro.chart.services import FindingsRejected, current_chart, record_findings, tooth_history
from stompro.db import utcnow
from stompro.extensions import db


def state(patient):
    return {(e.tooth, e.surfaces): e.condition.code for e in current_chart(db.session, patient.id)}


def test_the_latest_finding_wins_and_the_history_is_kept(patient, doctor):
    earlier = utcnow() - timedelta(days=30)
    record_findings(db.session, patient, doctor, [{"tooth": 36, "surfaces": "O", "condition": "caries"}], now=earlier)
    record_findings(db.session, patient, doctor, [{"tooth": 36, "surfaces": "O", "condition": "filling"}])
    assert state(patient) == {(36, "O"): "filling"}
    history = tooth_history(db.session, patient.id, 36)
    assert [f.condition.code for f in history] == ["filling", "caries"]
    assert all(f.author_id == doctor.id for f in history)


def test_surfaces_are_tracked_separately(patient, doctor):
    earlier = utcnow() - timedelta(days=1)
    record_findings(db.session, patient, doctor, [{"tooth": 16, "surfaces": "MO", "condition": "caries"}], now=earlier)
    record_findings(db.session, patient, doctor, [{"tooth": 16, "surfaces": "O", "condition": "filling"}])
    assert state(patient) == {(16, "M"): "caries", (16, "O"): "filling"}


def test_a_whole_tooth_finding_replaces_its_surfaces(patient, doctor):
    earlier = utcnow() - timedelta(days=1)
    record_findings(db.session, patient, doctor, [{"tooth": 46, "surfaces": "MOD", "condition": "caries"}], now=earlier)
    record_findings(db.session, patient, doctor, [{"tooth": 46, "surfaces": "", "condition": "missing"}])
    assert state(patient) == {(46, ""): "missing"}


@pytest.mark.parametrize(
    "finding, field",
    [
        ({"tooth": 19, "surfaces": "", "condition": "caries"}, "findings[1].tooth"),
        ({"tooth": 36, "surfaces": "X", "condition": "caries"}, "findings[1].surfaces"),
        ({"tooth": 36, "surfaces": "O", "condition": "rot"}, "findings[1].condition"),
    ],
)
def test_one_bad_finding_writes_nothing(patient, doctor, finding, field):
    before = db.session.scalar(select(func.count(ToothFinding.id)))
    good = {"tooth": 11, "surfaces": "", "condition": "healthy"}
    with pytest.raises(FindingsRejected) as rejected:
        record_findings(db.session, patient, doctor, [good, finding])
    assert field in rejected.value.errors
    assert db.session.scalar(select(func.count(ToothFinding.id))) == before
