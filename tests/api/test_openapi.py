"""openapi.yaml describes exactly the routes of the API blueprint."""
import re

import pytest
import yaml

from stompro.settings import PROJECT_ROOT

HTTP_METHODS = {"get", "post", "put", "patch", "delete"}


@pytest.fixture(scope="module")
def spec():
    return yaml.safe_load((PROJECT_ROOT / "openapi.yaml").read_text(encoding="utf-8"))


def openapi_path(rule):
    """/api/v1/patients/<int(max=…):patient_id>/chart → /api/v1/patients/{patient_id}/chart"""
    return re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule)


def served_operations(app):
    return {
        (openapi_path(rule.rule), method.lower())
        for rule in app.url_map.iter_rules()
        if rule.endpoint.startswith("api.")
        for method in rule.methods - {"HEAD", "OPTIONS"}
    }


def described_operations(spec):
    prefix = spec["servers"][0]["url"].rstrip("/")
    return {
        (prefix + path, method)
        for path, item in spec["paths"].items()
        for method in item
        if method in HTTP_METHODS
    }


def test_every_route_is_described_and_every_described_path_exists(app, spec):
    assert spec["openapi"].startswith("3.1")
    assert served_operations(app) == described_operations(spec)


def test_every_reference_resolves(spec):
    def refs(node):
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "$ref":
                    yield value
                else:
                    yield from refs(value)
        elif isinstance(node, list):
            for value in node:
                yield from refs(value)

    for ref in refs(spec):
        target = spec
        assert ref.startswith("#/"), ref
        for part in ref[2:].split("/"):
            assert part in target, ref
            target = target[part]


def test_every_secured_operation_documents_401_and_every_path_parameter(spec):
    for path, item in spec["paths"].items():
        declared = {p["name"] for p in item.get("parameters", []) if p["in"] == "path"}
        assert declared == set(re.findall(r"{(\w+)}", path)), path
        for method, operation in item.items():
            if method not in HTTP_METHODS:
                continue
            assert operation["responses"], (path, method)
            if operation.get("security", spec["security"]):
                assert "401" in operation["responses"], (path, method)
