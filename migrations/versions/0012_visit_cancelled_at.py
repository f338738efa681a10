"""visit cancelled_at, report indexes

* appointment.cancelled_at: when a visit was cancelled, so a cancellation
  less than a day ahead counts as a late one in the owner's reports. Visits
  cancelled before this column existed take their last change's time.
* indexes the owner's reports read a range by: invoice (clinic_id,
  issued_at), treatment_plan presented_at and accepted_at, patient
  created_at, task due_at.

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-30 20:10:00

"""
from alembic import op
import sqlalchemy as sa
import stompro.db

# revision identifiers, used by Alembic.
revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


INDEXES = (
    ("invoice", ("clinic_id", "issued_at")),
    ("treatment_plan", ("presented_at",)),
    ("treatment_plan", ("accepted_at",)),
    ("patient", ("created_at",)),
    ("task", ("due_at",)),
)


def _name(table, columns):
    return f"ix_{table}_{'_'.join(columns)}"


def upgrade():
    with op.batch_alter_table('appointment', schema=None) as batch_op:
        batch_op.add_column(sa.Column('cancelled_at', stompro.db.UTCDateTime(), nullable=True))
    op.execute("UPDATE appointment SET cancelled_at = updated_at WHERE status = 'cancelled'")
    for table, columns in INDEXES:
        op.create_index(_name(table, columns), table, list(columns))


def downgrade():
    for table, columns in INDEXES:
        op.drop_index(_name(table, columns), table_name=table)
    with op.batch_alter_table('appointment', schema=None) as batch_op:
        batch_op.drop_column('cancelled_at')
