"""anomaly detection (thresholds, quarantine), firmware records, report editions, intake

Revision ID: 0004
Revises: 0003 (chained after 0002 until the SSI's 0003 is merged)
Create Date: 2026-12-08

The DCC-wide default thresholds are rows of `ad_thresholds` (an operator changes them with
`althan ad set`); see docs/duis.md "Anomaly detection".
"""

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

_DAY = 86_400
DEFAULT_THRESHOLDS = (
    # srv, max_requests, max_devices, window (s): DCC-wide, all users together
    ("11.4", 5_000, 1_500_000, _DAY),
)
"""A backstop: a 50,000-device 11.4 passes, and so does the whole national Alt HAN fleet
(~1,000,000 bridges) in one day; docs/duis.md gives the recommendation for a rollout."""


def upgrade() -> None:
    with op.batch_alter_table("firmware_deliveries", schema=None) as batch_op:
        for stage in ("distributed", "delivered", "transferred", "activated", "failed"):
            batch_op.add_column(sa.Column(f"{stage}_at", sa.DateTime(timezone=True)))
    # covering: anomaly detection's counts read the index only
    op.create_index(
        "ix_sr_user_srv_time",
        "service_requests",
        ["user_eui", "srv", "received_at", "device_count"],
    )
    # 0003's (srv, received_at) index becomes a covering one: the counts read the index only
    op.drop_index("ix_sr_srv_time", table_name="service_requests")
    op.create_index("ix_sr_srv_time", "service_requests", ["srv", "received_at", "device_count"])

    thresholds = op.create_table(
        "ad_thresholds",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("user_eui", sa.BigInteger(), nullable=True),
        sa.Column("srv", sa.String(length=12), nullable=False),
        sa.Column("max_requests", sa.Integer(), nullable=True),
        sa.Column("max_devices", sa.Integer(), nullable=True),
        sa.Column("window_s", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_adt_srv", "ad_thresholds", ["srv"])
    now = datetime.now(UTC)
    op.bulk_insert(
        thresholds,
        [
            {
                "user_eui": None,
                "srv": srv,
                "max_requests": requests,
                "max_devices": devices,
                "window_s": window,
                "updated_at": now,
            }
            for srv, requests, devices, window in DEFAULT_THRESHOLDS
        ],
    )
    op.create_table(
        "ad_quarantine",
        sa.Column("ref", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("request_id", sa.String(length=80), nullable=False),
        sa.Column("user_eui", sa.BigInteger(), nullable=False),
        sa.Column("srv", sa.String(length=12), nullable=False),
        sa.Column("service", sa.String(length=1), nullable=False),
        sa.Column("schema_version", sa.String(length=10), nullable=False),
        sa.Column("devices", sa.Integer(), nullable=False),
        sa.Column("breach", sa.String(length=30), nullable=False),
        sa.Column("reason", sa.String(length=300), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("outcome", sa.String(length=10), nullable=True),
        sa.Column("request_xml", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("ref"),
        sa.UniqueConstraint("request_id"),
    )
    op.create_index("ix_adq_status_expiry", "ad_quarantine", ["status", "expires_at"])

    op.create_table(
        "firmware_history",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("device", sa.BigInteger(), nullable=False),
        sa.Column("previous_version", sa.String(length=8), nullable=True),
        sa.Column("firmware_version", sa.String(length=8), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("source", sa.String(length=20), nullable=False),
        sa.Column("request_id", sa.String(length=80), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_fh_device_at", "firmware_history", ["device", "at"])
    op.create_index("ix_fh_at", "firmware_history", ["at"])
    op.create_table(
        "report_editions",
        sa.Column("edition", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("generated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("slot", sa.BigInteger(), nullable=True),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("document", sa.LargeBinary(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("edition"),
        sa.UniqueConstraint("slot"),
    )
    op.create_table(
        "intake_submissions",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("supplier", sa.BigInteger(), nullable=False),
        sa.Column("submission_ref", sa.String(length=100), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("media_type", sa.String(length=40), nullable=False),
        sa.Column("body_sha256", sa.String(length=64), nullable=False),
        sa.Column("outcomes", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("supplier", "submission_ref"),
    )
    op.create_table(
        "intake_outcomes",
        sa.Column("submission_id", sa.Integer(), nullable=False),
        sa.Column("line", sa.Integer(), nullable=False),
        sa.Column("device", sa.BigInteger(), nullable=False),
        sa.Column("firmware_version", sa.String(length=8), nullable=False),
        sa.Column("outcome", sa.String(length=10), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["submission_id"], ["intake_submissions.id"]),
        sa.PrimaryKeyConstraint("submission_id", "line"),
    )
    op.create_index("ix_io_device", "intake_outcomes", ["device"])


def downgrade() -> None:
    op.drop_index("ix_io_device", table_name="intake_outcomes")
    op.drop_table("intake_outcomes")
    op.drop_table("intake_submissions")
    op.drop_table("report_editions")
    op.drop_index("ix_fh_at", table_name="firmware_history")
    op.drop_index("ix_fh_device_at", table_name="firmware_history")
    op.drop_table("firmware_history")
    op.drop_index("ix_adq_status_expiry", table_name="ad_quarantine")
    op.drop_table("ad_quarantine")
    op.drop_index("ix_adt_srv", table_name="ad_thresholds")
    op.drop_table("ad_thresholds")
    op.drop_index("ix_sr_srv_time", table_name="service_requests")
    op.create_index("ix_sr_srv_time", "service_requests", ["srv", "received_at"])
    op.drop_index("ix_sr_user_srv_time", table_name="service_requests")
    with op.batch_alter_table("firmware_deliveries", schema=None) as batch_op:
        for stage in ("failed", "activated", "transferred", "delivered", "distributed"):
            batch_op.drop_column(f"{stage}_at")
