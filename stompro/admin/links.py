"""Links between pages and the lookups behind per-record pages."""
from flask import abort, current_app, url_for
from flask_admin.model.template import EndpointLinkRowAction

from ..extensions import db
from ..records import live_row


def live_or_404(model, row_id):
    """The row a page is about; a missing or soft-deleted one is a 404."""
    row = live_row(db.session, model, row_id)
    if row is None:
        abort(404)
    return row


def reachable_url(endpoint, **values):
    """The URL of another page of the panel if it exists and the signed-in
    person may open it, else None — links to pages that later issues add, or
    that the role may not see, are left out instead of failing."""
    if endpoint not in current_app.view_functions:
        return None
    admin = current_app.extensions["stompro_admin"]
    view = next((v for v in admin._views if v.endpoint == endpoint.split(".", 1)[0]), None)
    if view is not None and not view.is_accessible():
        return None
    return url_for(endpoint, **values)


class ReachableLinkRowAction(EndpointLinkRowAction):
    """A row link shown only when ``reachable_url`` finds the page."""

    def render(self, context, row_id, row):
        url = reachable_url(self.endpoint, **{**(self.url_args or {}), self.id_arg: row_id})
        if url is None:
            return ""
        return self._resolve_symbol(context, "row_actions.link")(self, url)


def table_names():
    """{table: the name of its screen}, as people know the records (the
    recycle bin's tabs, the audit log's tables)."""
    from flask_admin.contrib.sqla import ModelView

    names = {}
    for view in current_app.extensions["stompro_admin"]._views:
        if isinstance(view, ModelView):
            names.setdefault(view.model.__tablename__, str(view.name))
    return names
