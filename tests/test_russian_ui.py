"""The panel in Russian, as each person sees it: every list, form and details
page of every screen, and the scripts' words. No message is left in English
(every gettext lookup finds its Russian), no "None" and no raw code shows."""
import html
import re
from collections import defaultdict

import pytest
from babel.support import Translations
from flask_admin.contrib.sqla import ModelView

from stompro.extensions import db

# Messages whose Russian is the English (acronyms), and the labels of
# hidden fields Flask-Admin renders invisibly (the delete form's id and url,
# the optimistic-locking version, an inline list's entries).
SAME_IN_RUSSIAN = {"VIP", "SMS", "API", "ID", "Id", "Url", "Version", "Action", "%(placeholder)s"}
HIDDEN_LABEL = re.compile(r"^[A-Z][a-z]+-\d+$")  # "Steps-0": an inline entry's label
# Screens that show stored values as they are, by design: a template's code
# (the owner's own identifier), the audit log's before → after of every
# column, the access log's page addresses.
SHOWS_CODES_AS_DATA = {"document_template", "message_template", "audit_log", "patient_access"}


@pytest.fixture
def untranslated(monkeypatch):
    """Every message a gettext lookup returned in English, by page."""
    found = defaultdict(set)
    page = {"url": None}
    gettext, ngettext = Translations.ugettext, Translations.ungettext

    # WTForms' catalog is asked first and the panel's after it (admin.forms.FormMessages):
    # what only WTForms' lacks is not yet untranslated.
    def lookup(self, message):
        answer = gettext(self, message)
        if answer == message and re.search("[A-Za-z]{2}", message) and self.domain != "wtforms":
            found[message].add(page["url"])
        return answer

    def plural_lookup(self, singular, plural, count):
        answer = ngettext(self, singular, plural, count)
        if answer in (singular, plural) and re.search("[A-Za-z]{2}", singular) and self.domain != "wtforms":
            found[singular].add(page["url"])
        return answer

    for name in ("ugettext", "gettext"):
        monkeypatch.setattr(Translations, name, lookup)
    for name in ("ungettext", "ngettext"):
        monkeypatch.setattr(Translations, name, plural_lookup)
    return found, page


def visible_text(page):
    page = re.sub(r"(?s)<script.*?</script>|<style.*?</style>|<option[^>]*>.*?</option>", " ", page)
    # The list's filters as JSON for its script (codes are their values there).
    page = re.sub(r'(?s)<div id="(?:filter-groups|active-filters)-data"[^>]*>.*?</div>', " ", page)
    page = re.sub(r"(?s)<[^>]+>", " ", page)
    return html.unescape(page)


def pages_of(client, view):
    urls = [view.url if view.url.endswith("/") else view.url + "/"]
    if isinstance(view, ModelView) and client.get(urls[0]).status_code == 200:
        listing = client.get(urls[0]).get_data(as_text=True)
        urls.append(f"/admin/{view.endpoint}/new/")
        for page in ("edit", "details"):
            row = re.search(rf"/admin/{view.endpoint}/{page}/\?id=(\d+)", listing)
            if row:
                urls.append(f"/admin/{view.endpoint}/{page}/?id={row.group(1)}")
    return urls


def coded_values():
    """Codes stored in columns (one_of CHECKs) that contain an underscore:
    words no Russian text has, so one on a page is a code shown raw."""
    codes = set()
    for table in db.metadata.tables.values():
        for constraint in table.constraints:
            rule = constraint.info.get("one_of")
            if rule:
                codes |= {value for value in rule[1] if "_" in value}
    return codes


@pytest.mark.parametrize("role", ["owner", "doctor", "administrator", "cashier", "call_center", "coordinator"])
def test_every_page_speaks_russian_to_everyone(app, client, auth, untranslated, role):
    found, current = untranslated
    auth.as_role(role, language="ru")
    codes = coded_values()
    raw = defaultdict(set)
    for view in app.extensions["stompro_admin"]._views:
        for url in pages_of(client, view):
            current["url"] = url
            response = client.get(url)
            if response.status_code != 200:
                continue
            text = visible_text(response.get_data(as_text=True))
            if re.search(r"\bNone\b", text):
                raw["None"].add(url)
            if view.endpoint not in SHOWS_CODES_AS_DATA:
                for word in set(re.findall(r"\b[a-z]+_[a-z_]+\b", text)) & codes:
                    raw[word].add(url)
            if url.endswith(("/new/",)) or "/edit/" in url:
                # A form sent empty: its refusals and messages, in Russian too.
                client.post(url, data={"csrf_token": auth.csrf_token()})
    current["url"] = "/admin-locale/ru.js"
    assert "Применить" in client.get("/admin-locale/ru.js").get_data(as_text=True)
    english = {m: sorted(urls)[:3] for m, urls in found.items() if m not in SAME_IN_RUSSIAN and not HIDDEN_LABEL.match(m)}
    assert not english, english
    assert not raw, dict(raw)
