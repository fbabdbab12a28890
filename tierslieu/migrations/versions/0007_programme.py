"""programme: workshops, sessions, registrations, attendance, appointments, activity reports

The seats counter ``workshop_session.seats_taken`` is kept within ``capacity`` by a CHECK
constraint: registrations take seats with a conditional UPDATE, so two racing registrations
can never overfill a session, on SQLite as on PostgreSQL.

Revision ID: 0007_programme
Revises: 0002_booking
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007_programme"
down_revision: str | Sequence[str] | None = "0002_booking"
branch_labels: str | Sequence[str] | None = ("programme",)
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "group_registration",
        sa.Column("contact_name", sa.String(length=200), nullable=False),
        sa.Column("organisation", sa.String(length=200), nullable=False),
        sa.Column("head_count", sa.Integer(), nullable=False),
        sa.Column("public", sa.String(length=32), nullable=True),
        sa.Column("age_band", sa.String(length=16), nullable=True),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "person",
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("phone", sa.String(length=40), nullable=True),
        sa.Column("email", sa.String(length=320), nullable=True),
        sa.Column("postal_address", sa.String(length=500), nullable=True),
        sa.Column("birth_year", sa.Integer(), nullable=True),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("consent", sa.String(length=200), nullable=False),
        sa.Column("consent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["created_by"], ["member.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("person", schema=None) as batch_op:
        batch_op.create_index("ix_person_name", ["name"], unique=False)
        batch_op.create_index("ix_person_phone", ["phone"], unique=False)

    op.create_table(
        "workshop",
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("description", sa.String(length=4000), nullable=False),
        sa.Column("themes", sa.JSON(), nullable=False),
        sa.Column("publics", sa.JSON(), nullable=False),
        sa.Column("duration_minutes", sa.Integer(), nullable=False),
        sa.Column("capacity", sa.Integer(), nullable=False),
        sa.Column("leader_id", sa.Integer(), nullable=True),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["created_by"], ["member.id"], ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["leader_id"], ["member.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("workshop", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_workshop_leader_id"), ["leader_id"], unique=False)

    op.create_table(
        "appointment",
        sa.Column("advisor_id", sa.Integer(), nullable=False),
        sa.Column("resource_id", sa.Integer(), nullable=False),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ends_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=True),
        sa.Column("person_id", sa.Integer(), nullable=True),
        sa.Column("people", sa.Integer(), nullable=False),
        sa.Column("referred_by", sa.String(length=200), nullable=True),
        sa.Column("note", sa.String(length=1000), nullable=False),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("booking_id", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("cancelled_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["advisor_id"], ["member.id"], ondelete="RESTRICT"),
        sa.ForeignKeyConstraint(["booking_id"], ["booking.id"], ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["created_by"], ["member.id"], ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["member_id"], ["member.id"], ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["person_id"], ["person.id"], ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["resource_id"], ["resource.id"], ondelete="RESTRICT"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("appointment", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_appointment_advisor_id"), ["advisor_id"], unique=False)
        batch_op.create_index("ix_appointment_advisor_start", ["advisor_id", "starts_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_appointment_booking_id"), ["booking_id"], unique=False)
        batch_op.create_index("ix_appointment_created_by", ["created_by"], unique=False)
        batch_op.create_index(batch_op.f("ix_appointment_member_id"), ["member_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_appointment_person_id"), ["person_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_appointment_resource_id"), ["resource_id"], unique=False)

    op.create_table(
        "workshop_session",
        sa.Column("workshop_id", sa.Integer(), nullable=False),
        sa.Column("resource_id", sa.Integer(), nullable=False),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ends_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("capacity", sa.Integer(), nullable=False),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("leader_id", sa.Integer(), nullable=True),
        sa.Column("booking_id", sa.Integer(), nullable=True),
        sa.Column("series_id", sa.Integer(), nullable=True),
        sa.Column("seats_taken", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("public", sa.Boolean(), nullable=False),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("cancelled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("cancel_reason", sa.String(length=500), nullable=False),
        sa.Column("attendance_purged_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("tally", sa.JSON(), nullable=True),
        sa.CheckConstraint("seats_taken >= 0 AND seats_taken <= capacity", name="ck_workshop_session_seats"),
        sa.ForeignKeyConstraint(["booking_id"], ["booking.id"], ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["created_by"], ["member.id"], ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["leader_id"], ["member.id"], ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["resource_id"], ["resource.id"], ondelete="RESTRICT"),
        sa.ForeignKeyConstraint(["series_id"], ["booking_series.id"], ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["workshop_id"], ["workshop.id"], ondelete="RESTRICT"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("workshop_session", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_workshop_session_booking_id"), ["booking_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_workshop_session_leader_id"), ["leader_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_workshop_session_resource_id"), ["resource_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_workshop_session_series_id"), ["series_id"], unique=False)
        batch_op.create_index("ix_workshop_session_start", ["starts_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_workshop_session_workshop_id"), ["workshop_id"], unique=False)
        batch_op.create_index("ix_workshop_session_workshop_start", ["workshop_id", "starts_at"], unique=False)

    op.create_table(
        "activity_report",
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("duration_minutes", sa.Integer(), nullable=False),
        sa.Column("themes", sa.JSON(), nullable=False),
        sa.Column("publics", sa.JSON(), nullable=False),
        sa.Column("referred_to", sa.JSON(), nullable=False),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("author_id", sa.Integer(), nullable=True),
        sa.Column("appointment_id", sa.Integer(), nullable=True),
        sa.Column("session_id", sa.Integer(), nullable=True),
        sa.Column("resource_id", sa.Integer(), nullable=True),
        sa.Column("people", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["appointment_id"], ["appointment.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["author_id"], ["member.id"], ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["resource_id"], ["resource.id"], ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["session_id"], ["workshop_session.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("appointment_id"),
        sa.UniqueConstraint("session_id"),
    )
    with op.batch_alter_table("activity_report", schema=None) as batch_op:
        batch_op.create_index("ix_activity_report_at", ["at"], unique=False)
        batch_op.create_index(batch_op.f("ix_activity_report_author_id"), ["author_id"], unique=False)

    op.create_table(
        "registration",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("session_id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=True),
        sa.Column("person_id", sa.Integer(), nullable=True),
        sa.Column("group_id", sa.Integer(), nullable=True),
        sa.Column("seats", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("promoted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("cancelled_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "(CASE WHEN member_id IS NULL THEN 0 ELSE 1 END) + (CASE WHEN person_id IS NULL THEN 0 ELSE 1 END)"
            " + (CASE WHEN group_id IS NULL THEN 0 ELSE 1 END) = 1",
            name="ck_registration_one_holder",
        ),
        sa.CheckConstraint("seats >= 1", name="ck_registration_seats"),
        sa.ForeignKeyConstraint(["created_by"], ["member.id"], ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["group_id"], ["group_registration.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["member_id"], ["member.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["person_id"], ["person.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["session_id"], ["workshop_session.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("registration", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_registration_group_id"), ["group_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_registration_member_id"), ["member_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_registration_person_id"), ["person_id"], unique=False)
        batch_op.create_index("ix_registration_session_status", ["session_id", "status", "id"], unique=False)
        batch_op.create_index(
            "uq_registration_member_open",
            ["session_id", "member_id"],
            unique=True,
            sqlite_where=sa.text("member_id IS NOT NULL AND status IN ('confirmed', 'waitlisted')"),
            postgresql_where=sa.text("member_id IS NOT NULL AND status IN ('confirmed', 'waitlisted')"),
        )
        batch_op.create_index(
            "uq_registration_person_open",
            ["session_id", "person_id"],
            unique=True,
            sqlite_where=sa.text("person_id IS NOT NULL AND status IN ('confirmed', 'waitlisted')"),
            postgresql_where=sa.text("person_id IS NOT NULL AND status IN ('confirmed', 'waitlisted')"),
        )

    op.create_table(
        "workshop_session_printer",
        sa.Column("session_id", sa.Integer(), nullable=False),
        sa.Column("resource_id", sa.Integer(), nullable=False),
        sa.Column("booking_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["booking_id"], ["booking.id"], ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["resource_id"], ["resource.id"], ondelete="RESTRICT"),
        sa.ForeignKeyConstraint(["session_id"], ["workshop_session.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("session_id", "resource_id"),
    )
    op.create_table(
        "attendance",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("session_id", sa.Integer(), nullable=False),
        sa.Column("registration_id", sa.Integer(), nullable=True),
        sa.Column("member_id", sa.Integer(), nullable=True),
        sa.Column("person_id", sa.Integer(), nullable=True),
        sa.Column("present", sa.Boolean(), nullable=False),
        sa.Column("seats", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("public", sa.String(length=32), nullable=True),
        sa.Column("age_band", sa.String(length=16), nullable=True),
        sa.Column("recorded_by", sa.Integer(), nullable=True),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("seats >= 0", name="ck_attendance_seats"),
        sa.ForeignKeyConstraint(["member_id"], ["member.id"], ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["person_id"], ["person.id"], ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["recorded_by"], ["member.id"], ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["registration_id"], ["registration.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["session_id"], ["workshop_session.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("attendance", schema=None) as batch_op:
        batch_op.create_index("ix_attendance_session", ["session_id"], unique=False)
        batch_op.create_index(
            "uq_attendance_member_walk_in",
            ["session_id", "member_id"],
            unique=True,
            sqlite_where=sa.text("registration_id IS NULL AND member_id IS NOT NULL"),
            postgresql_where=sa.text("registration_id IS NULL AND member_id IS NOT NULL"),
        )
        batch_op.create_index(
            "uq_attendance_registration",
            ["registration_id"],
            unique=True,
            sqlite_where=sa.text("registration_id IS NOT NULL"),
            postgresql_where=sa.text("registration_id IS NOT NULL"),
        )


def downgrade() -> None:
    with op.batch_alter_table("attendance", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_attendance_registration",
            sqlite_where=sa.text("registration_id IS NOT NULL"),
            postgresql_where=sa.text("registration_id IS NOT NULL"),
        )
        batch_op.drop_index(
            "uq_attendance_member_walk_in",
            sqlite_where=sa.text("registration_id IS NULL AND member_id IS NOT NULL"),
            postgresql_where=sa.text("registration_id IS NULL AND member_id IS NOT NULL"),
        )
        batch_op.drop_index("ix_attendance_session")

    op.drop_table("attendance")
    op.drop_table("workshop_session_printer")
    with op.batch_alter_table("registration", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_registration_person_open",
            sqlite_where=sa.text("person_id IS NOT NULL AND status IN ('confirmed', 'waitlisted')"),
            postgresql_where=sa.text("person_id IS NOT NULL AND status IN ('confirmed', 'waitlisted')"),
        )
        batch_op.drop_index(
            "uq_registration_member_open",
            sqlite_where=sa.text("member_id IS NOT NULL AND status IN ('confirmed', 'waitlisted')"),
            postgresql_where=sa.text("member_id IS NOT NULL AND status IN ('confirmed', 'waitlisted')"),
        )
        batch_op.drop_index("ix_registration_session_status")
        batch_op.drop_index(batch_op.f("ix_registration_person_id"))
        batch_op.drop_index(batch_op.f("ix_registration_member_id"))
        batch_op.drop_index(batch_op.f("ix_registration_group_id"))

    op.drop_table("registration")
    with op.batch_alter_table("activity_report", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_activity_report_author_id"))
        batch_op.drop_index("ix_activity_report_at")

    op.drop_table("activity_report")
    with op.batch_alter_table("workshop_session", schema=None) as batch_op:
        batch_op.drop_index("ix_workshop_session_workshop_start")
        batch_op.drop_index(batch_op.f("ix_workshop_session_workshop_id"))
        batch_op.drop_index("ix_workshop_session_start")
        batch_op.drop_index(batch_op.f("ix_workshop_session_series_id"))
        batch_op.drop_index(batch_op.f("ix_workshop_session_resource_id"))
        batch_op.drop_index(batch_op.f("ix_workshop_session_leader_id"))
        batch_op.drop_index(batch_op.f("ix_workshop_session_booking_id"))

    op.drop_table("workshop_session")
    with op.batch_alter_table("appointment", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_appointment_resource_id"))
        batch_op.drop_index(batch_op.f("ix_appointment_person_id"))
        batch_op.drop_index(batch_op.f("ix_appointment_member_id"))
        batch_op.drop_index("ix_appointment_created_by")
        batch_op.drop_index(batch_op.f("ix_appointment_booking_id"))
        batch_op.drop_index("ix_appointment_advisor_start")
        batch_op.drop_index(batch_op.f("ix_appointment_advisor_id"))

    op.drop_table("appointment")
    with op.batch_alter_table("workshop", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_workshop_leader_id"))

    op.drop_table("workshop")
    with op.batch_alter_table("person", schema=None) as batch_op:
        batch_op.drop_index("ix_person_phone")
        batch_op.drop_index("ix_person_name")

    op.drop_table("person")
    op.drop_table("group_registration")
