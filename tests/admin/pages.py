"""Reading admin pages as a browser would: the main form with the values it
would send, each select's options, each picker's lookup URL; list pages'
row links and filters."""
import json
import re
from html.parser import HTMLParser
from urllib.parse import quote

from werkzeug.datastructures import MultiDict

SECRET = re.compile(r"password|hash|пароль|хеш|хэш|locked|failed.?login|token|secret|epoch", re.I)


class FormPage(HTMLParser):
    """The forms of a page: for each, its action and fields in order."""

    def __init__(self, html):
        super().__init__()
        self.forms, self._form, self._select, self._textarea = [], None, None, None
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        name = a.get("name")
        if tag == "form":
            self._form = {"action": a.get("action") or "", "fields": [], "options": {}, "lookups": {}}
            self.forms.append(self._form)
        if self._form is None:
            return
        if tag == "input" and name:
            kind = (a.get("type") or "text").lower()
            if kind in ("checkbox", "radio"):
                if "checked" in a:
                    self._form["fields"].append((name, a.get("value", "y")))
            elif kind not in ("submit", "button", "file", "image", "reset"):
                self._form["fields"].append((name, a.get("value") or ""))
                if a.get("data-url"):
                    self._form["lookups"][name] = a["data-url"]
        elif tag == "select" and name:
            self._select = {"name": name, "multiple": "multiple" in a, "chosen": [], "first": None}
            self._form["options"][name] = []
            if a.get("data-url"):
                self._form["lookups"][name] = a["data-url"]
        elif tag == "option" and self._select is not None:
            value = a.get("value", "")
            self._form["options"][self._select["name"]].append([value, ""])
            if self._select["first"] is None and value != "__None":
                self._select["first"] = value
            if "selected" in a:
                self._select["chosen"].append(value)
        elif tag == "textarea" and name:
            self._textarea = [name, ""]

    def handle_data(self, data):
        if self._textarea is not None:
            self._textarea[1] += data
        elif self._select is not None and self._form["options"][self._select["name"]]:
            self._form["options"][self._select["name"]][-1][1] += data.strip()

    def handle_endtag(self, tag):
        if tag == "select" and self._select is not None and self._form is not None:
            select = self._select
            chosen = select["chosen"] or ([] if select["multiple"] or select["first"] is None else [select["first"]])
            self._form["fields"] += [(select["name"], value) for value in chosen]
            self._select = None
        elif tag == "textarea" and self._textarea is not None and self._form is not None:
            name, text = self._textarea
            # Browsers drop the line break that follows <textarea> (HTML's parsing rule).
            self._form["fields"].append((name, text[2:] if text.startswith("\r\n") else text.removeprefix("\n")))
            self._textarea = None
        elif tag == "form":
            self._form = None

    def main_form(self):
        """The page's form with the most fields (not the language or sign-out forms)."""
        forms = [f for f in self.forms if not re.search(r"/(language|logout)\b", f["action"]) and len(f["fields"]) > 1]
        return max(forms, key=lambda f: len(f["fields"])) if forms else None


def main_form(html):
    form = FormPage(html).main_form()
    assert form is not None, "no form on the page"
    return form


def form_data(form, **changes):
    """What the form sends, with ``changes`` (None removes a field; a list sends several values)."""
    data = MultiDict([(name, value) for name, value in form["fields"] if name not in changes])
    for name, value in changes.items():
        if value is None:
            continue
        for item in value if isinstance(value, list) else [value]:
            data.add(name, str(item))
    return data


def lookup(client, url, query, limit=100):
    """What a picker offers for ``query``: [(id, label)]."""
    response = client.get(f"{url.replace('&amp;', '&')}&query={quote(query)}&limit={limit}")
    assert response.status_code == 200, (url, query, response.status_code)
    return [(item[0], item[1]) for item in response.get_json()]


def pick(client, form, field, query):
    """The id the person picks in ``field``'s picker after typing ``query``."""
    found = lookup(client, form["lookups"][field], query)
    assert found, f"the picker {field} offers nothing for {query!r}"
    return found[0][0]


def option(form, field, containing=""):
    """The value of the first option of a select whose text contains ``containing``."""
    for value, text in form["options"][field]:
        if value not in ("", "__None") and containing in text:
            return value
    raise AssertionError(f"{field} offers no option with {containing!r}: {form['options'][field]}")


def first_row_link(html, endpoint, page):
    """The id of the first row of a list that has a ``page`` link (edit, details)."""
    found = re.search(rf"/admin/{endpoint}/{page}/\?id=(\d+)", html)
    return int(found.group(1)) if found else None


def filter_names(html):
    """The names of every filter a list offers."""
    found = re.search(r'id="filter-groups-data"[^>]*>(.*?)</', html, re.S)
    return list(json.loads(found.group(1))) if found else []


def has_form_error(html):
    return bool(re.search(r"is-invalid|invalid-feedback|alert-danger", html))


def form_errors(html):
    """The messages a form shows: under its fields and in the alerts above it."""
    found = re.findall(r'class="[^"]*(?:invalid-feedback|help-block|alert-danger)[^"]*"[^>]*>(.*?)</(?:div|span|li|ul)>', html, re.S)
    return [re.sub(r"<[^>]+>|\s+", " ", text).strip() for text in found if re.sub(r"<[^>]+>", "", text).strip()]
