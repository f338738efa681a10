"""Every answer under /api/v1 is JSON, errors included — never an HTML page, never a 500."""
import pytest
from werkzeug.exceptions import Forbidden, NotFound


def test_a_body_that_is_not_json_is_400(api):
    api.as_role("doctor")
    response = api.client.post(
        "/api/v1/patients", data="{not json", content_type="application/json", headers=api._headers()
    )
    assert response.status_code == 400
    assert response.is_json and response.get_json()["error"]


@pytest.mark.parametrize("body", ["[1, 2]", '"text"', ""])
def test_a_body_that_is_not_an_object_is_400(api, body):
    api.as_role("doctor")
    response = api.client.post("/api/v1/patients", data=body, content_type="application/json", headers=api._headers())
    assert response.status_code == 400
    assert response.is_json


def test_a_form_post_to_the_token_endpoint_is_400_json(client):
    response = client.post("/api/v1/token", data={"login": "doctor", "password": "demo"})
    assert response.status_code == 400
    assert response.is_json


@pytest.mark.parametrize(
    "method, url, status",
    [
        ("get", "/api/v1/nothing-here", 404),
        ("post", "/api/v1/nothing-here", 404),
        ("get", "/api/v1/patients/abc/chart", 404),
        ("get", "/api/v1/patients/99999999999999999999/chart", 404),
        ("delete", "/api/v1/patients", 405),
        ("put", "/api/v1/patients/1/chart", 405),
        ("get", "/api/v1/token", 405),
    ],
)
def test_unknown_paths_and_methods_are_json(api, method, url, status):
    api.as_role("doctor")
    response = getattr(api.client, method)(url, headers=api._headers())
    assert response.status_code == status
    assert response.is_json and response.get_json()["error"]
    if status == 405:
        assert response.headers["Allow"]


def test_messages_follow_the_callers_language(api):
    api.as_role("cashier", language="ru")
    response = api.get("/api/v1/patients/1/chart")
    assert response.status_code == 403
    assert response.get_json()["error"] != "Your role does not allow this."


@pytest.mark.parametrize("failure, status", [(RuntimeError("a bug"), 500), (NotFound(), 404), (Forbidden(), 403)])
def test_failures_inside_a_view_are_json_too(api, app, monkeypatch, failure, status):
    def fail(*args, **kwargs):
        raise failure

    monkeypatch.setitem(app.config, "PROPAGATE_EXCEPTIONS", False)
    monkeypatch.setattr("stompro.api.patients.search_patients", fail)
    api.as_role("doctor")
    response = api.get("/api/v1/patients")
    assert response.status_code == status
    assert response.is_json and response.get_json()["error"]
