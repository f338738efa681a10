"""Helpers of the staff and session tests: a second browser holding a copy of
the session cookie, the fields of a page's form, audit rows."""
from html.parser import HTMLParser

from sqlalchemy import select

from stompro.audit.models import AuditLog
from stompro.extensions import db


def copy_of_session(app, client):
    """Another browser with the same session cookie, as a thief would hold it."""
    name = app.config["SESSION_COOKIE_NAME"]
    cookie = client.get_cookie(name)
    assert cookie is not None, "the client has no session cookie"
    other = app.test_client()
    other.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    other.set_cookie(name, cookie.value)
    return other


def signed_in(client):
    """Does the panel open for this client (rather than sending it to /login)?"""
    response = client.get("/admin/")
    if response.status_code == 200:
        return True
    assert response.status_code == 302 and "/login" in response.headers["Location"], response.status_code
    return False


class _Forms(HTMLParser):
    """Every <form> of a page: its fields as a browser would submit them."""

    def __init__(self):
        super().__init__()
        self.forms = []
        self._form = None
        self._select = None
        self._textarea = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form":
            self._form = {"action": attrs.get("action"), "fields": []}
            self.forms.append(self._form)
        elif self._form is None or "name" not in attrs and tag in ("input", "select", "textarea"):
            return
        elif tag == "input":
            kind = attrs.get("type", "text")
            if kind in ("submit", "button", "image", "reset", "file"):
                return
            if kind in ("checkbox", "radio") and "checked" not in attrs:
                return
            self._form["fields"].append((attrs["name"], attrs.get("value", "on" if kind == "checkbox" else "")))
        elif tag == "select":
            self._select = {"name": attrs["name"], "multiple": "multiple" in attrs, "first": None, "chosen": False}
        elif tag == "option" and self._select:
            value = attrs.get("value", "")
            if self._select["first"] is None:
                self._select["first"] = value
            if "selected" in attrs:
                self._form["fields"].append((self._select["name"], value))
                self._select["chosen"] = True
        elif tag == "textarea":
            self._textarea = [attrs["name"], ""]

    def handle_data(self, data):
        if self._textarea is not None:
            self._textarea[1] += data

    def handle_endtag(self, tag):
        if tag == "select" and self._select:
            select, self._select = self._select, None
            if not select["multiple"] and not select["chosen"] and select["first"] is not None:
                self._form["fields"].append((select["name"], select["first"]))  # what a browser sends
        elif tag == "textarea" and self._textarea is not None:
            value = self._textarea[1][1:] if self._textarea[1].startswith("\n") else self._textarea[1]
            self._form["fields"].append((self._textarea[0], value))
            self._textarea = None
        elif tag == "form":
            self._form = None


def form_fields(html, having):
    """The fields (name → list of values) of the page's form that has a field named ``having``."""
    parser = _Forms()
    parser.feed(html)
    for form in parser.forms:
        names = [name for name, _ in form["fields"]]
        if having in names:
            fields = {}
            for name, value in form["fields"]:
                fields.setdefault(name, []).append(value)
            return fields
    raise AssertionError(f"no form with a field {having!r} on the page")


def audit_rows(table, row_id):
    return db.session.execute(
        select(AuditLog).where(AuditLog.table_name == table, AuditLog.row_id == row_id).order_by(AuditLog.id)
    ).scalars().all()
