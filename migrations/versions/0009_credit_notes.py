"""credit notes

* payment.method may be credit (a credit note correcting an issued
  invoice), and then payment.credited_invoice_id names that invoice.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-30 16:58:20.035669

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


METHODS = "('cash', 'card', 'online', 'insurance', 'deposit', 'credit')"
OLD_METHODS = "('cash', 'card', 'online', 'insurance', 'deposit')"


def upgrade():
    with op.batch_alter_table('payment', schema=None) as batch_op:
        batch_op.add_column(sa.Column('credited_invoice_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_payment_credited_invoice_id'), ['credited_invoice_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_payment_credited_invoice_id_invoice'), 'invoice', ['credited_invoice_id'], ['id'])
        batch_op.drop_constraint(op.f('ck_payment_method'), type_='check')
        batch_op.create_check_constraint(op.f('ck_payment_method'), f"method IN {METHODS}")
        batch_op.create_check_constraint(op.f('ck_payment_credit_names_invoice'),
                                         "(method = 'credit') = (credited_invoice_id IS NOT NULL)")


def downgrade():
    op.execute("DELETE FROM payment WHERE method = 'credit'")  # the older schema knows no credit notes
    with op.batch_alter_table('payment', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_payment_credit_names_invoice'), type_='check')
        batch_op.drop_constraint(op.f('ck_payment_method'), type_='check')
        batch_op.create_check_constraint(op.f('ck_payment_method'), f"method IN {OLD_METHODS}")
        batch_op.drop_constraint(batch_op.f('fk_payment_credited_invoice_id_invoice'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_payment_credited_invoice_id'))
        batch_op.drop_column('credited_invoice_id')
