"""A patient's messages (the outbox): what was and will be written to
them, for other tools and for checking a reminder went out."""
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from ..extensions import db
from ..messaging.models import Message
from ..org.roles import ADMINISTRATOR, CALL_CENTER, COORDINATOR, OWNER
from ..patients.models import Patient
from ..records import live_row
from . import bp
from .appointments import ID
from .auth import requires_roles
from .errors import ApiError
from .payload import iso_moment

MESSAGE_READERS = frozenset({OWNER, ADMINISTRATOR, CALL_CENTER, COORDINATOR})
LISTED = 500  # the newest


@bp.get(f"/patients/<{ID}:patient_id>/messages")
@requires_roles(MESSAGE_READERS)
def patient_messages(patient_id):
    if live_row(db.session, Patient, patient_id) is None:
        raise ApiError(404, _l("There is no patient #%(id)s.", id=patient_id))
    messages = db.session.execute(
        select(Message).where(Message.patient_id == patient_id).order_by(Message.send_at.desc(), Message.id.desc())
        .limit(LISTED)
    ).scalars().all()
    return {"messages": [message_json(message) for message in messages]}


def message_json(message):
    """A message of the outbox as the API shows it."""
    return {
        "id": message.id, "appointment_id": message.appointment_id, "kind": message.kind, "channel": message.channel,
        "send_at": iso_moment(message.send_at), "status": message.status, "body": message.body,
    }
