"""anomaly detection (thresholds, quarantine), firmware records, report editions, intake

Create Date: 2026-12-08

The DCC-wide default thresholds are rows of `ad_thresholds` (an operator changes them with
`althan ad set`); see docs/duis.md "Anomaly detection".
"""

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

from althan.store.migrations.columns import at, bigint, binary, integer, serial, string, text

revision = "0004"
down_revision = "0003"

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
            batch_op.add_column(at(f"{stage}_at", nullable=True))
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
        serial("id"),
        bigint("user_eui", nullable=True),
        string("srv", 12),
        integer("max_requests", nullable=True),
        integer("max_devices", nullable=True),
        integer("window_s"),
        at("updated_at"),
        sa.PrimaryKeyConstraint("id"),
        sa.Index("ix_adt_srv", "srv"),
    )
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
        serial("ref"),
        string("request_id", 80),
        bigint("user_eui"),
        string("srv", 12),
        string("service", 1),
        string("schema_version", 10),
        integer("devices"),
        string("breach", 30),
        string("reason", 300),
        string("status", 12),
        at("received_at"),
        at("expires_at"),
        at("decided_at", nullable=True),
        string("outcome", 10, nullable=True),
        binary("request_xml"),
        sa.PrimaryKeyConstraint("ref"),
        sa.UniqueConstraint("request_id"),
        sa.Index("ix_adq_status_expiry", "status", "expires_at"),
    )

    op.create_table(
        "firmware_history",
        serial("id"),
        bigint("device"),
        string("previous_version", 8, nullable=True),
        string("firmware_version", 8),
        at("at"),
        string("source", 20),
        string("request_id", 80, nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.Index("ix_fh_device_at", "device", "at"),
        sa.Index("ix_fh_at", "at"),
    )
    op.create_table(
        "report_editions",
        serial("edition"),
        at("generated_at"),
        bigint("slot", nullable=True),
        text("content"),
        binary("document"),
        string("sha256", 64),
        sa.PrimaryKeyConstraint("edition"),
        sa.UniqueConstraint("slot"),
    )
    op.create_table(
        "intake_submissions",
        serial("id"),
        bigint("supplier"),
        string("submission_ref", 100),
        at("received_at"),
        string("media_type", 40),
        string("body_sha256", 64),
        integer("outcomes"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("supplier", "submission_ref"),
    )
    op.create_table(
        "intake_outcomes",
        integer("submission_id"),
        integer("line"),
        bigint("device"),
        string("firmware_version", 8),
        string("outcome", 10),
        at("at"),
        sa.ForeignKeyConstraint(["submission_id"], ["intake_submissions.id"]),
        sa.PrimaryKeyConstraint("submission_id", "line"),
        sa.Index("ix_io_device", "device"),
    )


def downgrade() -> None:
    # a table's indexes go with it
    for table in (
        "intake_outcomes",
        "intake_submissions",
        "report_editions",
        "firmware_history",
        "ad_quarantine",
        "ad_thresholds",
    ):
        op.drop_table(table)
    op.drop_index("ix_sr_srv_time", table_name="service_requests")
    op.create_index("ix_sr_srv_time", "service_requests", ["srv", "received_at"])
    op.drop_index("ix_sr_user_srv_time", table_name="service_requests")
    with op.batch_alter_table("firmware_deliveries", schema=None) as batch_op:
        for stage in ("failed", "activated", "transferred", "delivered", "distributed"):
            batch_op.drop_column(f"{stage}_at")
