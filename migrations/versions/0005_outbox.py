"""the outbox: kinds, languages, subjects and the dispatcher's statuses

* message.kind (booked, day_before, hours_before, after_visit, cancelled,
  recall, care, birthday, manual): the rows there are get theirs from their
  template's code, "manual" when they have none.
* message.language (the template's, else 'ru'), message.subject (e-mail),
  message.expires_at (the latest useful moment), message.version (bumped
  by each claim of the dispatcher).
* message.status may also be queued, sending and expired.
* patient.email_consent: false for the patients there are.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02 10:00:00.000000

"""
from alembic import op
import sqlalchemy as sa
import stompro.db

# revision identifiers, used by Alembic.
revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None

KINDS = "('booked', 'day_before', 'hours_before', 'after_visit', 'cancelled', 'recall', 'care', 'birthday', 'manual')"
KIND_OF_TEMPLATE = {
    'booking_confirmation': 'booked',
    'reminder_day_before': 'day_before',
    'reminder_hours_before': 'hours_before',
    'after_visit': 'after_visit',
    'visit_cancelled': 'cancelled',
    'hygiene_recall': 'recall',
    'post_op_care': 'care',
    'birthday': 'birthday',
}


def upgrade():
    with op.batch_alter_table('message', schema=None) as batch_op:
        batch_op.add_column(sa.Column('kind', sa.String(length=12), server_default='manual', nullable=False))
        batch_op.add_column(sa.Column('language', sa.String(length=2), server_default='ru', nullable=False))
        batch_op.add_column(sa.Column('subject', sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column('expires_at', stompro.db.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column('version', sa.Integer(), server_default='1', nullable=False))
    for code, kind in KIND_OF_TEMPLATE.items():
        op.execute(
            f"UPDATE message SET kind = '{kind}' WHERE template_id IN "
            f"(SELECT id FROM message_template WHERE code = '{code}')"
        )
    op.execute(
        "UPDATE message SET language = (SELECT language FROM message_template WHERE message_template.id = "
        "message.template_id), subject = (SELECT subject FROM message_template WHERE message_template.id = "
        "message.template_id AND message.channel = 'email') WHERE template_id IS NOT NULL"
    )
    with op.batch_alter_table('message', schema=None) as batch_op:
        batch_op.alter_column('language', server_default=None)  # new rows say theirs
        batch_op.drop_constraint(op.f('ck_message_status'), type_='check')
        batch_op.create_check_constraint(
            op.f('ck_message_status'),
            "status IN ('scheduled', 'queued', 'sending', 'sent', 'failed', 'cancelled', 'expired')",
        )
        batch_op.create_check_constraint(op.f('ck_message_kind'), f"kind IN {KINDS}")
        batch_op.create_check_constraint(op.f('ck_message_language'), "language IN ('en', 'ru')")
    with op.batch_alter_table('patient', schema=None) as batch_op:
        batch_op.add_column(sa.Column('email_consent', sa.Boolean(), server_default=sa.false(), nullable=False))


def downgrade():
    with op.batch_alter_table('patient', schema=None) as batch_op:
        batch_op.drop_column('email_consent')
    op.execute("UPDATE message SET status = 'scheduled' WHERE status IN ('queued', 'sending')")
    op.execute("UPDATE message SET status = 'cancelled' WHERE status = 'expired'")
    with op.batch_alter_table('message', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_message_language'), type_='check')
        batch_op.drop_constraint(op.f('ck_message_kind'), type_='check')
        batch_op.drop_constraint(op.f('ck_message_status'), type_='check')
        batch_op.create_check_constraint(
            op.f('ck_message_status'), "status IN ('scheduled', 'sent', 'failed', 'cancelled')"
        )
        batch_op.drop_column('version')
        batch_op.drop_column('expires_at')
        batch_op.drop_column('subject')
        batch_op.drop_column('language')
        batch_op.drop_column('kind')
