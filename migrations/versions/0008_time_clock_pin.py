"""time clock: kiosk PIN, corrections with a reason

* staff.pin_hash: the PIN a person types at the reception's kiosk (argon2).
* time_clock.correction_reason: why the owner added or changed an entry.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-30 16:35:26.229431

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('staff', schema=None) as batch_op:
        batch_op.add_column(sa.Column('pin_hash', sa.String(length=255), nullable=True))

    with op.batch_alter_table('time_clock', schema=None) as batch_op:
        batch_op.add_column(sa.Column('correction_reason', sa.Text(), nullable=True))



def downgrade():
    with op.batch_alter_table('time_clock', schema=None) as batch_op:
        batch_op.drop_column('correction_reason')

    with op.batch_alter_table('staff', schema=None) as batch_op:
        batch_op.drop_column('pin_hash')

