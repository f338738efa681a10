"""contract termination

* patient_document.terminated_at, termination_reason, terminated_by_id: a
  signed contract is valid until it is terminated, with a reason.

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-30 17:06:28.907414

"""
from alembic import op
import sqlalchemy as sa
import stompro.db

# revision identifiers, used by Alembic.
revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('patient_document', schema=None) as batch_op:
        batch_op.add_column(sa.Column('terminated_at', stompro.db.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column('termination_reason', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('terminated_by_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_patient_document_terminated_by_id'), ['terminated_by_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_patient_document_terminated_by_id_staff'), 'staff', ['terminated_by_id'], ['id'])
        batch_op.create_check_constraint(op.f('ck_patient_document_termination'),
                                         "terminated_at IS NULL OR (kind = 'contract' AND status = 'signed' "
                                         "AND termination_reason IS NOT NULL)")



def downgrade():
    with op.batch_alter_table('patient_document', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_patient_document_termination'), type_='check')
        batch_op.drop_constraint(batch_op.f('fk_patient_document_terminated_by_id_staff'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_patient_document_terminated_by_id'))
        batch_op.drop_column('terminated_by_id')
        batch_op.drop_column('termination_reason')
        batch_op.drop_column('terminated_at')

