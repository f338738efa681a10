"""performed services, invoices of visits, partly paid, refunds

* performed_service: what the doctor performed at a visit, priced when
  marked, and the invoice line it became.
* invoice.appointment_id (the visit it bills), invoice.cancel_reason
  (required once cancelled), invoice.status may be partly_paid.
* payment.amount may be negative (a refund), and then names its reason.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-30 16:17:22.438360

"""
from alembic import op
import sqlalchemy as sa
import stompro.db

# revision identifiers, used by Alembic.
revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


STATUSES = "('draft', 'issued', 'partly_paid', 'paid', 'cancelled')"
OLD_STATUSES = "('draft', 'issued', 'paid', 'cancelled')"


def upgrade():
    op.create_table('performed_service',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('appointment_id', sa.Integer(), nullable=False),
    sa.Column('plan_item_id', sa.Integer(), nullable=True),
    sa.Column('service_id', sa.Integer(), nullable=False),
    sa.Column('tooth', sa.Integer(), nullable=True),
    sa.Column('surfaces', sa.String(length=8), nullable=False),
    sa.Column('quantity', sa.Integer(), nullable=False),
    sa.Column('price', sa.Numeric(precision=12, scale=2), nullable=False),
    sa.Column('insured', sa.Boolean(), nullable=False),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('performed_by_id', sa.Integer(), nullable=False),
    sa.Column('performed_at', stompro.db.UTCDateTime(), nullable=False),
    sa.Column('invoice_line_id', sa.Integer(), nullable=True),
    sa.Column('created_at', stompro.db.UTCDateTime(), nullable=False),
    sa.Column('updated_at', stompro.db.UTCDateTime(), nullable=False),
    sa.Column('deleted_at', stompro.db.UTCDateTime(), nullable=True),
    sa.CheckConstraint("length(replace(replace(replace(replace(replace(replace(replace(replace(surfaces, 'M', ''), 'O', ''), 'I', ''), 'D', ''), 'B', ''), 'V', ''), 'L', ''), 'P', '')) = 0 AND length(surfaces) - length(replace(surfaces, 'M', '')) <= 1 AND length(surfaces) - length(replace(surfaces, 'O', '')) <= 1 AND length(surfaces) - length(replace(surfaces, 'I', '')) <= 1 AND length(surfaces) - length(replace(surfaces, 'D', '')) <= 1 AND length(surfaces) - length(replace(surfaces, 'B', '')) <= 1 AND length(surfaces) - length(replace(surfaces, 'V', '')) <= 1 AND length(surfaces) - length(replace(surfaces, 'L', '')) <= 1 AND length(surfaces) - length(replace(surfaces, 'P', '')) <= 1", name=op.f('ck_performed_service_surfaces')),
    sa.CheckConstraint('price >= 0', name=op.f('ck_performed_service_price')),
    sa.CheckConstraint('quantity > 0', name=op.f('ck_performed_service_quantity')),
    sa.CheckConstraint('tooth IS NULL OR tooth IN (11, 12, 13, 14, 15, 16, 17, 18, 21, 22, 23, 24, 25, 26, 27, 28, 31, 32, 33, 34, 35, 36, 37, 38, 41, 42, 43, 44, 45, 46, 47, 48, 51, 52, 53, 54, 55, 61, 62, 63, 64, 65, 71, 72, 73, 74, 75, 81, 82, 83, 84, 85)', name=op.f('ck_performed_service_fdi_tooth')),
    sa.ForeignKeyConstraint(['appointment_id'], ['appointment.id'], name=op.f('fk_performed_service_appointment_id_appointment')),
    sa.ForeignKeyConstraint(['invoice_line_id'], ['invoice_line.id'], name=op.f('fk_performed_service_invoice_line_id_invoice_line')),
    sa.ForeignKeyConstraint(['performed_by_id'], ['staff.id'], name=op.f('fk_performed_service_performed_by_id_staff')),
    sa.ForeignKeyConstraint(['plan_item_id'], ['plan_item.id'], name=op.f('fk_performed_service_plan_item_id_plan_item')),
    sa.ForeignKeyConstraint(['service_id'], ['service.id'], name=op.f('fk_performed_service_service_id_service')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_performed_service'))
    )
    with op.batch_alter_table('performed_service', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_performed_service_appointment_id'), ['appointment_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_performed_service_invoice_line_id'), ['invoice_line_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_performed_service_performed_by_id'), ['performed_by_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_performed_service_plan_item_id'), ['plan_item_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_performed_service_service_id'), ['service_id'], unique=False)

    with op.batch_alter_table('invoice', schema=None) as batch_op:
        batch_op.add_column(sa.Column('appointment_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('cancel_reason', sa.Text(), nullable=True))
        batch_op.alter_column('status',
               existing_type=sa.VARCHAR(length=10),
               type_=sa.String(length=12),
               existing_nullable=False)
        batch_op.create_index(batch_op.f('ix_invoice_appointment_id'), ['appointment_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_invoice_appointment_id_appointment'), 'appointment', ['appointment_id'], ['id'])
        batch_op.drop_constraint(op.f('ck_invoice_status'), type_='check')
        batch_op.create_check_constraint(op.f('ck_invoice_status'), f"status IN {STATUSES}")
    op.execute("UPDATE invoice SET cancel_reason = '-' WHERE status = 'cancelled' AND cancel_reason IS NULL")
    with op.batch_alter_table('invoice', schema=None) as batch_op:
        batch_op.create_check_constraint(op.f('ck_invoice_cancel_reason'),
                                         "status <> 'cancelled' OR cancel_reason IS NOT NULL")
    with op.batch_alter_table('payment', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_payment_amount'), type_='check')
        batch_op.create_check_constraint(op.f('ck_payment_amount'), "amount <> 0")
        batch_op.create_check_constraint(op.f('ck_payment_refund_reason'), "amount > 0 OR note IS NOT NULL")


def downgrade():
    # the older schema knows neither refunds nor partly paid invoices
    op.execute("DELETE FROM payment WHERE amount < 0")
    op.execute("UPDATE invoice SET status = 'issued' WHERE status = 'partly_paid'")
    with op.batch_alter_table('payment', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_payment_refund_reason'), type_='check')
        batch_op.drop_constraint(op.f('ck_payment_amount'), type_='check')
        batch_op.create_check_constraint(op.f('ck_payment_amount'), "amount > 0")
    with op.batch_alter_table('invoice', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_invoice_cancel_reason'), type_='check')
        batch_op.drop_constraint(op.f('ck_invoice_status'), type_='check')
        batch_op.create_check_constraint(op.f('ck_invoice_status'), f"status IN {OLD_STATUSES}")
        batch_op.drop_constraint(batch_op.f('fk_invoice_appointment_id_appointment'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_invoice_appointment_id'))
        batch_op.alter_column('status',
               existing_type=sa.String(length=12),
               type_=sa.VARCHAR(length=10),
               existing_nullable=False)
        batch_op.drop_column('cancel_reason')
        batch_op.drop_column('appointment_id')

    with op.batch_alter_table('performed_service', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_performed_service_service_id'))
        batch_op.drop_index(batch_op.f('ix_performed_service_plan_item_id'))
        batch_op.drop_index(batch_op.f('ix_performed_service_performed_by_id'))
        batch_op.drop_index(batch_op.f('ix_performed_service_invoice_line_id'))
        batch_op.drop_index(batch_op.f('ix_performed_service_appointment_id'))

    op.drop_table('performed_service')
