"""Every admin view × every role: allowed pages open (200), the rest are 403,
nothing is ever a 500 — with the demo clinic loaded."""
import re

import pytest
from flask_admin.contrib.sqla import ModelView
from sqlalchemy import select

from stompro import create_app
from stompro.admin.permissions import ACTIONS
from stompro.extensions import db
from stompro.org.roles import ROLES

from ..conftest import DEMO_LOGIN_BY_ROLE


def _admin_views():
    app = create_app({"SQLALCHEMY_DATABASE_URI": "sqlite://", "SECRET_KEY": "x", "SEED_DEMO_ON_FIRST_START": False})
    return [v for v in app.extensions["stompro_admin"]._views if isinstance(v, ModelView)]


MODEL_VIEWS = {view.endpoint: type(view) for view in _admin_views()}
MODELS = {view.endpoint: view.model for view in _admin_views()}


def _may(view_class, action, role):
    """What the view lets ``role`` do: its permissions, within what its
    ``writes`` offers (a table that carries rules offers only its services)."""
    writes = view_class.writes
    return view_class.permissions.allows(action, {role}) and (writes is None or writes.allows(action))


def _changes_elsewhere(view_class, action, role):
    """A reader asking for a form of a table that changes only on other
    screens is sent back to the list or the record, with where it changes."""
    writes = view_class.writes
    return writes is not None and not writes.allows(action) and _may(view_class, "list", role)


def _row_id(client, endpoint, model, may_list):
    """A row the person sees in the list (their branches' rows), else any live row."""
    if may_list:
        found = re.search(rf"/admin/{endpoint}/details/\?id=(\d+)", client.get(f"/admin/{endpoint}/").get_data(as_text=True))
        return int(found.group(1)) if found else None
    query = select(model.id).order_by(model.id).limit(1)
    if hasattr(model, "deleted_at"):
        query = query.where(model.deleted_at.is_(None))
    return db.session.scalar(query)


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("endpoint", sorted(MODEL_VIEWS))
def test_every_page_of_every_view_answers_per_permissions(app, client, auth, endpoint, role):
    view_class = MODEL_VIEWS[endpoint]
    auth.as_role(role)
    row_id = _row_id(client, endpoint, MODELS[endpoint], _may(view_class, "list", role))
    pages = {
        "list": f"/admin/{endpoint}/",
        "create": f"/admin/{endpoint}/new/",
        "export": f"/admin/{endpoint}/export/csv/",
    }
    if row_id is not None:
        pages["details"] = f"/admin/{endpoint}/details/?id={row_id}"
        pages["edit"] = f"/admin/{endpoint}/edit/?id={row_id}"
    needed = {"list": "list", "details": "list", "create": "create", "edit": "edit", "export": "export"}
    for page, url in pages.items():
        response = client.get(url)
        allowed = _may(view_class, needed[page], role)
        expected = 200 if allowed else 302 if _changes_elsewhere(view_class, needed[page], role) else 403
        assert response.status_code == expected, f"{role} {url}: {response.status_code}, expected {expected}"
        if allowed and page == "export":
            assert response.get_data(as_text=True).count("\n") >= 1


def test_every_table_has_a_screen():
    from stompro.extensions import db

    shown = {view.model.__tablename__ for view in _admin_views()}
    association_tables = {"staff_clinic", "insurance_program_service"}
    # Child rows edited inline in their parent's screen.
    inline_only = {"staff_role", "patient_tag", "protocol_step", "invoice_line"}
    # The sign-in throttle's counters are a secret: no screen shows them.
    secrets = {"sign_in_failure"}
    missing = set(db.metadata.tables) - shown - association_tables - inline_only - secrets
    assert not missing, f"tables without an admin screen: {sorted(missing)}"


def test_every_view_declares_its_permissions():
    for endpoint, view_class in MODEL_VIEWS.items():
        assert any(getattr(view_class.permissions, a) for a in ACTIONS), endpoint


@pytest.mark.parametrize(
    "role, url",
    [
        ("doctor", "/admin/price_list/"),
        ("doctor", "/admin/price_list_item/"),
        ("doctor", "/admin/audit_log/"),
        ("cashier", "/admin/exam/"),
        ("doctor", "/admin/recycle_bin/"),
    ],
)
def test_the_issue_names_these_refusals(client, auth, role, url):
    auth.as_role(role)
    response = client.get(url)
    assert response.status_code == 403
    assert "403" in response.get_data(as_text=True)


def test_anonymous_visitors_are_sent_to_the_login_page(client):
    for url in ("/admin/", "/admin/patient/", "/admin/audit_log/", "/admin/recycle_bin/"):
        response = client.get(url)
        assert response.status_code == 302, url
        assert "/login" in response.headers["Location"]


def test_every_menu_item_opens_for_the_owner(app, client, auth):
    auth.as_role("owner")
    menu = [view for view in app.extensions["stompro_admin"]._views if view.is_visible()]
    assert len(menu) >= 30
    for view in menu:
        response = client.get(view.url + "/" if not view.url.endswith("/") else view.url)
        assert response.status_code == 200, view.url


def test_demo_logins_print_their_roles(client, auth):
    for role, login in DEMO_LOGIN_BY_ROLE.items():
        staff = auth.as_login(login)
        assert role in staff.roles
