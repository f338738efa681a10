"""What each role may do in a view: list, create, edit, delete, export."""
from dataclasses import dataclass

from ..org.roles import NOBODY

ACTIONS = ("list", "create", "edit", "delete", "export")

# Flask-Admin's view functions and the action each one needs.
VIEW_ACTIONS = {
    "index_view": "list",
    "details_view": "list",
    "ajax_lookup": "list",
    "create_view": "create",
    "edit_view": "edit",
    "ajax_update": "edit",
    "delete_view": "delete",
    "export": "export",
    "action_view": "list",  # each action declares its own permission
}


@dataclass(frozen=True)
class Permissions:
    """Roles allowed per action; anything not listed is refused with a 403."""

    list: frozenset = NOBODY
    create: frozenset = NOBODY
    edit: frozenset = NOBODY
    delete: frozenset = NOBODY
    export: frozenset = NOBODY

    def allows(self, action, roles):
        return bool(getattr(self, action) & frozenset(roles))

    @classmethod
    def read_only(cls, roles, export=NOBODY):
        return cls(list=frozenset(roles), export=frozenset(export))

    @classmethod
    def managed_by(cls, writers, readers=NOBODY, export=NOBODY, delete=None):
        """``writers`` may do everything; ``readers`` may also list."""
        writers = frozenset(writers)
        return cls(
            list=writers | frozenset(readers),
            create=writers,
            edit=writers,
            delete=writers if delete is None else frozenset(delete),
            export=frozenset(export),
        )
