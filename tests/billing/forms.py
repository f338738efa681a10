"""Helpers for tests that use the generic admin forms as a person does:
read a form's fields as the page shows them, post them back with the CSRF
token, and read the error shown under one field. Shared by the tests of
billing, documents and the time clock."""
from datetime import datetime, timedelta, timezone

import lxml.html
from sqlalchemy import func, select

from stompro.audit.models import AuditLog
from stompro.extensions import db
from stompro.timefmt import to_local

def post(client, auth, url, data, **kwargs):
    return client.post(url, data={**data, "csrf_token": auth.csrf_token()}, **kwargs)


def form_values(page):
    """{name: value} of the page's form, as a browser would send it untouched."""
    form = next(f for f in lxml.html.fromstring(page).forms if "admin-form" in (f.get("class") or ""))
    values = {}
    for name, value in form.form_values():
        values.setdefault(name, value)
    for select_element in form.xpath(".//select[@name]"):  # a select with nothing selected sends its first option
        name = select_element.get("name")
        if name not in values:
            options = select_element.xpath(".//option")
            if options:
                values[name] = options[0].get("value", options[0].text_content())
    values.pop("csrf_token", None)
    return values


def field_errors(page, name):
    """The messages shown under the form field ``name``."""
    tree = lxml.html.fromstring(page)
    for control in tree.xpath(f'//*[@name="{name}"]'):
        group = control.xpath('ancestor::div[contains(concat(" ", @class, " "), " form-group ")][1]')
        if group:
            return [li.text_content().strip() for li in group[0].xpath('.//div[contains(@class, "invalid-feedback")]//li')]
    return []


def count(model, *where):
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def audit_rows(table_name, row_id, action="insert"):
    return db.session.execute(
        select(AuditLog).where(AuditLog.table_name == table_name, AuditLog.row_id == row_id, AuditLog.action == action)
    ).scalars().all()


def typed(moment):
    """A moment as a person types it in the clinic's form (clinic clock, minutes)."""
    return to_local(moment).strftime("%d.%m.%Y %H:%M")


def minutes_ago(minutes):
    return (datetime.now(timezone.utc) - timedelta(minutes=minutes)).replace(second=0, microsecond=0)


def lookup(client, endpoint, name, query):
    response = client.get(f"/admin/{endpoint}/ajax/lookup/", query_string={"name": name, "query": query})
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()
