"""family payer

* patient.payer_id: the patient whose deposit serves this one's invoices
  (a parent paying for a child, a spouse); never the patient themself.

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-30 17:00:50.925860

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('patient', schema=None) as batch_op:
        batch_op.add_column(sa.Column('payer_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_patient_payer_id'), ['payer_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_patient_payer_id_patient'), 'patient', ['payer_id'], ['id'])
        batch_op.create_check_constraint(op.f('ck_patient_not_own_payer'), "payer_id IS NULL OR payer_id <> id")



def downgrade():
    with op.batch_alter_table('patient', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_patient_not_own_payer'), type_='check')
        batch_op.drop_constraint(batch_op.f('fk_patient_payer_id_patient'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_patient_payer_id'))
        batch_op.drop_column('payer_id')

