"""Helpers for calling the JSON API with a bearer token."""
import pytest
from sqlalchemy import func, select

from stompro.api.auth import issue_token
from stompro.extensions import db

from ..conftest import DEMO_LOGIN_BY_ROLE, staff_by_login


def count(model):
    return db.session.scalar(select(func.count()).select_from(model))


class Api:
    """A client that sends JSON with a demo person's token (signed directly,
    skipping the deliberately slow password check; test_auth.py covers that)."""

    def __init__(self, client):
        self.client = client
        self.token = None

    def as_role(self, role, language="en"):
        """Call as the demo person of ``role``, speaking ``language``
        (messages are asserted in English by default)."""
        staff = staff_by_login(DEMO_LOGIN_BY_ROLE[role])
        staff.language = language
        db.session.commit()
        self.token = issue_token(staff)
        return staff

    def _headers(self):
        return {"Authorization": f"Bearer {self.token}"} if self.token else {}

    def get(self, url, **kwargs):
        return self.client.get(url, headers=self._headers(), **kwargs)

    def post(self, url, json=None, **kwargs):
        return self.client.post(url, json=json, headers=self._headers(), **kwargs)


@pytest.fixture
def api(client):
    return Api(client)


