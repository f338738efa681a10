"""documents gate: consent to personal data, who signed, each branch's gate

* document_template.kind and patient_document.kind may be personal_data
  (consent to personal-data processing, 152-FZ).
* patient_document.signed_by (patient or representative),
  representative_name and representative_document (a child's legal
  representative); the documents signed so far were signed by the patient.
* patient_document.scan_id: the scanned signed copy (an attachment).
* clinic.document_gate: block (the default) or warn.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-30 14:20:00.000000

"""
from alembic import op
import sqlalchemy as sa

# revision identifiers, used by Alembic.
revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None

KINDS = "('contract', 'consent', 'personal_data', 'card_cover', 'plan_printout')"
OLD_KINDS = "('contract', 'consent', 'card_cover', 'plan_printout')"


def upgrade():
    for table in ('document_template', 'patient_document'):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_constraint(op.f(f'ck_{table}_kind'), type_='check')
            batch_op.create_check_constraint(op.f(f'ck_{table}_kind'), f"kind IN {KINDS}")
    with op.batch_alter_table('patient_document', schema=None) as batch_op:
        batch_op.add_column(sa.Column('signed_by', sa.String(length=14), nullable=True))
        batch_op.add_column(sa.Column('representative_name', sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column('representative_document', sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column('scan_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_patient_document_scan_id'), ['scan_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_patient_document_scan_id_attachment'), 'attachment', ['scan_id'],
                                    ['id'])
    op.execute("UPDATE patient_document SET signed_by = 'patient' WHERE status = 'signed'")
    with op.batch_alter_table('patient_document', schema=None) as batch_op:
        batch_op.create_check_constraint(op.f('ck_patient_document_signed_by'),
                                         "signed_by IN ('patient', 'representative')")
        batch_op.create_check_constraint(op.f('ck_patient_document_representative_named'),
                                         "signed_by <> 'representative' OR representative_name IS NOT NULL")
    with op.batch_alter_table('clinic', schema=None) as batch_op:
        batch_op.add_column(sa.Column('document_gate', sa.String(length=5), server_default='block', nullable=False))
        batch_op.create_check_constraint(op.f('ck_clinic_document_gate'), "document_gate IN ('block', 'warn')")


def downgrade():
    with op.batch_alter_table('clinic', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_clinic_document_gate'), type_='check')
        batch_op.drop_column('document_gate')
    with op.batch_alter_table('patient_document', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_patient_document_representative_named'), type_='check')
        batch_op.drop_constraint(op.f('ck_patient_document_signed_by'), type_='check')
        batch_op.drop_constraint(batch_op.f('fk_patient_document_scan_id_attachment'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_patient_document_scan_id'))
        batch_op.drop_column('scan_id')
        batch_op.drop_column('representative_document')
        batch_op.drop_column('representative_name')
        batch_op.drop_column('signed_by')
    for table in ('document_template', 'patient_document'):
        # the older schema knows no such kind: its consents to personal data become consents
        op.execute(f"UPDATE {table} SET kind = 'consent' WHERE kind = 'personal_data'")
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_constraint(op.f(f'ck_{table}_kind'), type_='check')
            batch_op.create_check_constraint(op.f(f'ck_{table}_kind'), f"kind IN {OLD_KINDS}")
