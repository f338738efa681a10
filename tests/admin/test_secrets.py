"""No list, filter, column, search, details page or export offers a secret —
password hashes, sign-in counters, session epochs, tokens — to any role; and
exported cells never run as spreadsheet formulas."""
import csv
import io
import json
import re

import pytest
from sqlalchemy import select

from stompro.extensions import db
from stompro.org.roles import ROLES
from stompro.patients.models import Patient

from .pages import SECRET, filter_names
from .test_access import MODEL_VIEWS, _may

# A stored hash, not the search text echoed back in the search box.
HASH = re.compile(r"\$argon2id\$v=|\$scrypt\$|pbkdf2:")


def _lists():
    return [(endpoint, role) for endpoint in sorted(MODEL_VIEWS) for role in ROLES if _may(MODEL_VIEWS[endpoint], "list", role)]


@pytest.mark.parametrize("endpoint, role", _lists())
def test_no_list_offers_a_secret_to_anyone(client, auth, endpoint, role):
    auth.as_role(role)
    page = client.get(f"/admin/{endpoint}/").get_data(as_text=True)
    offered = filter_names(page)
    assert not [name for name in offered if SECRET.search(name)], offered
    headers = re.findall(r'<th class="column-header[^"]*"[^>]*>(.*?)</th>', page, re.S)
    assert not [h for h in headers if SECRET.search(re.sub(r"<[^>]+>", "", h))], headers
    assert not HASH.search(page)
    row = re.search(rf"/admin/{endpoint}/details/\?id=(\d+)", page)
    if row:
        details = client.get(f"/admin/{endpoint}/details/?id={row.group(1)}").get_data(as_text=True)
        assert not HASH.search(details)
        labels = re.findall(r"<td>\s*<b>(.*?)</b>", details, re.S)
        assert not [label for label in labels if SECRET.search(label)], labels
    if _may(MODEL_VIEWS[endpoint], "export", role):
        exported = client.get(f"/admin/{endpoint}/export/csv/").get_data(as_text=True)
        header = next(csv.reader(io.StringIO(exported)))
        assert not [name for name in header if SECRET.search(name)], header
        assert not HASH.search(exported)


def test_no_filter_is_a_related_tables_column(app):
    """Filters name their own table's columns or a foreign key's choices:
    naming a relationship would offer every column of the related table."""
    for endpoint, view_class in MODEL_VIEWS.items():
        for name in view_class.column_filters or ():
            if isinstance(name, str):
                assert "." not in name, (endpoint, name)
    for view in app.extensions["stompro_admin"]._views:
        for flt in getattr(view, "_filters", None) or ():
            table = getattr(flt.column, "table", None)
            assert table is view.model.__table__, (view.endpoint, flt.name)


@pytest.mark.parametrize("endpoint", ["payment", "appointment", "tooth_finding"])
def test_no_filter_or_search_can_be_used_to_guess_a_hash(client, auth, endpoint):
    """The old hole: /admin/appointment/?flt1_28=$argon2id$ filtered on the
    staff's password hash, so the rows shown told a hash letter by letter.
    Every filter index, and the search, answers the same rows for the
    beginning of every hash as for text no hash contains."""
    auth.as_role("owner")

    def rows(query):
        page = client.get(f"/admin/{endpoint}/?{query}")
        assert page.status_code == 200
        # The rows, not their order: visits starting at one time may come in any order.
        return sorted(re.findall(rf"/admin/{endpoint}/details/\?id=(\d+)", page.get_data(as_text=True)))

    listing = client.get(f"/admin/{endpoint}/").get_data(as_text=True)
    offered = re.search(r'id="filter-groups-data"[^>]*>(.*?)</', listing, re.S).group(1)
    args = sorted({f"flt1_{item['arg']}" for group in json.loads(offered).values() for item in group})
    for arg in ["search", *args]:
        assert rows(f"{arg}=%24argon2id%24v%3D19") == rows(f"{arg}=zz-no-hash-zz"), arg


def test_exported_cells_never_run_as_formulas(client, auth):
    auth.as_role("owner")
    patient = db.session.execute(select(Patient).where(Patient.deleted_at.is_(None)).limit(1)).scalar_one()
    patient.last_name = '=HYPERLINK("http://evil.example","Нажмите")'
    patient.first_name = "+1+2"
    patient.middle_name = "@SUM(A1)"
    db.session.commit()
    exported = client.get("/admin/patient/export/csv/").get_data(as_text=True)
    rows = list(csv.reader(io.StringIO(exported)))
    cells = [cell for row in rows for cell in row]
    assert "'=HYPERLINK(\"http://evil.example\",\"Нажмите\")" in cells
    assert "'+1+2" in cells and "'@SUM(A1)" in cells
    assert not [cell for cell in cells if cell[:1] in ("=", "+", "@", "\t", "\r")]
