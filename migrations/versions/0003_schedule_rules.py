"""schedule rules: closures, absences, the waiting list, overdue visits,
one task per subject, no double booking in the database

* closure (a branch's days off), absence (a person's), waiting_entry.
* appointment.overdue_at; task.dedupe_key (unique).
* audit_log.action may be 'reschedule' (one row listing every move of a cascade).
* PostgreSQL only, written by hand (autogenerate leaves dialect-only DDL
  alone, see autogen_options.include_object): the btree_gist and pg_trgm
  extensions; three exclusion constraints refusing overlapping live visits
  of one doctor, chair or patient; trigram indexes for the patients' search.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-30 09:22:17.004571

"""
from alembic import op
import sqlalchemy as sa
import stompro.db

# revision identifiers, used by Alembic.
revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


OVERLAP = "deleted_at IS NULL AND status NOT IN ('no_show', 'cancelled')"
TRIGRAM_COLUMNS = ("last_name", "first_name", "middle_name", "phone")
AUDIT_ACTIONS_BEFORE = "('insert', 'update', 'delete', 'soft_delete', 'restore')"
AUDIT_ACTIONS_AFTER = "('insert', 'update', 'delete', 'soft_delete', 'restore', 'reschedule')"


def _audit_actions(listed):
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_audit_log_action'), type_='check')
        batch_op.create_check_constraint(op.f('ck_audit_log_action'), f"action IN {listed}")


def upgrade():
    op.create_table('closure',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('clinic_id', sa.Integer(), nullable=False),
    sa.Column('first_day', sa.Date(), nullable=False),
    sa.Column('last_day', sa.Date(), nullable=False),
    sa.Column('reason', sa.String(length=200), nullable=False),
    sa.Column('created_at', stompro.db.UTCDateTime(), nullable=False),
    sa.Column('updated_at', stompro.db.UTCDateTime(), nullable=False),
    sa.CheckConstraint('last_day >= first_day', name=op.f('ck_closure_days')),
    sa.ForeignKeyConstraint(['clinic_id'], ['clinic.id'], name=op.f('fk_closure_clinic_id_clinic')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_closure'))
    )
    with op.batch_alter_table('closure', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_closure_clinic_id_first_day'), ['clinic_id', 'first_day'], unique=False)

    op.create_table('absence',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('staff_id', sa.Integer(), nullable=False),
    sa.Column('first_day', sa.Date(), nullable=False),
    sa.Column('last_day', sa.Date(), nullable=False),
    sa.Column('kind', sa.String(length=12), nullable=False),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('created_at', stompro.db.UTCDateTime(), nullable=False),
    sa.Column('updated_at', stompro.db.UTCDateTime(), nullable=False),
    sa.Column('deleted_at', stompro.db.UTCDateTime(), nullable=True),
    sa.CheckConstraint("kind IN ('vacation', 'sick_leave', 'training', 'other')", name=op.f('ck_absence_kind')),
    sa.CheckConstraint('last_day >= first_day', name=op.f('ck_absence_days')),
    sa.ForeignKeyConstraint(['staff_id'], ['staff.id'], name=op.f('fk_absence_staff_id_staff')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_absence'))
    )
    with op.batch_alter_table('absence', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_absence_staff_id_first_day'), ['staff_id', 'first_day'], unique=False)

    op.create_table('waiting_entry',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('patient_id', sa.Integer(), nullable=False),
    sa.Column('clinic_id', sa.Integer(), nullable=True),
    sa.Column('specialty_id', sa.Integer(), nullable=True),
    sa.Column('doctor_id', sa.Integer(), nullable=True),
    sa.Column('duration_min', sa.Integer(), nullable=False),
    sa.Column('days', sa.String(length=7), nullable=True),
    sa.Column('time_from', sa.Time(), nullable=True),
    sa.Column('time_to', sa.Time(), nullable=True),
    sa.Column('until', sa.Date(), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('appointment_id', sa.Integer(), nullable=True),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('created_at', stompro.db.UTCDateTime(), nullable=False),
    sa.Column('updated_at', stompro.db.UTCDateTime(), nullable=False),
    sa.Column('deleted_at', stompro.db.UTCDateTime(), nullable=True),
    sa.CheckConstraint("status IN ('waiting', 'booked', 'cancelled')", name=op.f('ck_waiting_entry_status')),
    sa.CheckConstraint('duration_min > 0', name=op.f('ck_waiting_entry_duration')),
    sa.CheckConstraint('time_to IS NULL OR time_from IS NULL OR time_to > time_from', name=op.f('ck_waiting_entry_hours')),
    sa.ForeignKeyConstraint(['appointment_id'], ['appointment.id'], name=op.f('fk_waiting_entry_appointment_id_appointment')),
    sa.ForeignKeyConstraint(['clinic_id'], ['clinic.id'], name=op.f('fk_waiting_entry_clinic_id_clinic')),
    sa.ForeignKeyConstraint(['doctor_id'], ['staff.id'], name=op.f('fk_waiting_entry_doctor_id_staff')),
    sa.ForeignKeyConstraint(['patient_id'], ['patient.id'], name=op.f('fk_waiting_entry_patient_id_patient')),
    sa.ForeignKeyConstraint(['specialty_id'], ['specialty.id'], name=op.f('fk_waiting_entry_specialty_id_specialty')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_waiting_entry'))
    )
    with op.batch_alter_table('waiting_entry', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_waiting_entry_appointment_id'), ['appointment_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_waiting_entry_clinic_id'), ['clinic_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_waiting_entry_doctor_id'), ['doctor_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_waiting_entry_patient_id'), ['patient_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_waiting_entry_specialty_id'), ['specialty_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_waiting_entry_status_until'), ['status', 'until'], unique=False)

    with op.batch_alter_table('appointment', schema=None) as batch_op:
        batch_op.add_column(sa.Column('overdue_at', stompro.db.UTCDateTime(), nullable=True))

    with op.batch_alter_table('task', schema=None) as batch_op:
        batch_op.add_column(sa.Column('dedupe_key', sa.String(length=120), nullable=True))
        batch_op.create_unique_constraint(batch_op.f('uq_task_dedupe_key'), ['dedupe_key'])

    _audit_actions(AUDIT_ACTIONS_AFTER)

    if op.get_bind().dialect.name == "postgresql":
        op.execute("CREATE EXTENSION IF NOT EXISTS btree_gist")
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        for column in ("doctor_id", "room_id", "patient_id"):
            op.execute(
                f"ALTER TABLE appointment ADD CONSTRAINT ex_appointment_{column}_overlap EXCLUDE USING gist "
                f"({column} WITH =, tstzrange(starts_at, ends_at, '[)') WITH &&) WHERE ({OVERLAP})"
            )
        for column in TRIGRAM_COLUMNS:
            op.execute(f"CREATE INDEX ix_patient_{column}_trigram ON patient USING gin ({column} gin_trgm_ops)")



def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        for column in TRIGRAM_COLUMNS:
            op.execute(f"DROP INDEX ix_patient_{column}_trigram")
        for column in ("doctor_id", "room_id", "patient_id"):
            op.execute(f"ALTER TABLE appointment DROP CONSTRAINT ex_appointment_{column}_overlap")

    _audit_actions(AUDIT_ACTIONS_BEFORE)
    with op.batch_alter_table('task', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_task_dedupe_key'), type_='unique')
        batch_op.drop_column('dedupe_key')

    with op.batch_alter_table('appointment', schema=None) as batch_op:
        batch_op.drop_column('overdue_at')

    with op.batch_alter_table('waiting_entry', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_waiting_entry_status_until'))
        batch_op.drop_index(batch_op.f('ix_waiting_entry_specialty_id'))
        batch_op.drop_index(batch_op.f('ix_waiting_entry_patient_id'))
        batch_op.drop_index(batch_op.f('ix_waiting_entry_doctor_id'))
        batch_op.drop_index(batch_op.f('ix_waiting_entry_clinic_id'))
        batch_op.drop_index(batch_op.f('ix_waiting_entry_appointment_id'))

    op.drop_table('waiting_entry')
    with op.batch_alter_table('absence', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_absence_staff_id_first_day'))

    op.drop_table('absence')
    with op.batch_alter_table('closure', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_closure_clinic_id_first_day'))

    op.drop_table('closure')
