"""List screens load their rows in a fixed number of queries (no N+1)."""
import pytest
from sqlalchemy import event

from stompro.admin.filters import LiveOptions
from stompro.extensions import db

from .test_access import MODEL_VIEWS

# Session/user loading, the page's rows, one batch per selectin collection,
# the count (absent with simple_list_pager) and Flask-Admin's filter lookups;
# besides, one query per filter whose choices (doctors, branches …) are read
# on every request.
MAX_QUERIES_PER_LIST = 8


class QueryCounter:
    def __init__(self):
        self.statements = []

    def __call__(self, conn, cursor, statement, parameters, context, executemany):
        if not statement.lstrip().upper().startswith(("SAVEPOINT", "RELEASE", "ROLLBACK", "BEGIN")):
            self.statements.append(statement)


@pytest.mark.parametrize("endpoint", sorted(MODEL_VIEWS))
def test_a_list_page_runs_a_bounded_number_of_queries(app, client, auth, endpoint):
    auth.as_role("owner")
    counter = QueryCounter()
    engine = db.engine
    event.listen(engine, "before_cursor_execute", counter)
    try:
        response = client.get(f"/admin/{endpoint}/?page_size=100")
    finally:
        event.remove(engine, "before_cursor_execute", counter)
    assert response.status_code == 200
    view = next(v for v in app.extensions["stompro_admin"]._views if v.endpoint == endpoint)
    choice_lists = sum(isinstance(f, LiveOptions) for f in view._filters or ())
    assert len(counter.statements) <= MAX_QUERIES_PER_LIST + choice_lists, "\n\n".join(counter.statements)
