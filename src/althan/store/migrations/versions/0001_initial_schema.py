"""initial schema

Create Date: 2026-11-24
"""

import sqlalchemy as sa
from alembic import op

from althan.store.migrations.columns import at, bigint, binary, integer, serial, string, text

revision = "0001"
down_revision = None


def upgrade() -> None:
    op.create_table(
        "alerts",
        serial("id"),
        string("code", 10),
        bigint("device", nullable=True),
        bigint("user_eui"),
        at("created_at"),
        string("detail", 200),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "chf_device_log",
        bigint("chf"),
        bigint("device"),
        at("added_at"),
        sa.PrimaryKeyConstraint("chf", "device"),
    )
    op.create_table(
        "cpl_entries",
        serial("id"),
        string("manufacturer", 30),
        string("model", 30),
        integer("hw_min"),
        integer("hw_max"),
        string("firmware_version", 8),
        string("image_sha256", 64),
        string("image_hash", 64),
        string("status", 10),
        bigint("assured_by"),
        at("assured_at"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("manufacturer", "model", "hw_min", "hw_max", "firmware_version"),
        sa.Index("ix_cpl_sha", "image_sha256"),
    )
    op.create_table(
        "device_commands",
        string("msg_id", 100),
        string("request_id", 80),
        bigint("user_eui"),
        string("srv", 12),
        bigint("device"),
        bigint("chf"),
        string("detail", 200),
        at("created_at"),
        at("done_at", nullable=True),
        sa.PrimaryKeyConstraint("msg_id"),
    )
    op.create_table(
        "devices",
        bigint("eui"),
        string("device_type", 10),
        string("status", 30),
        string("manufacturer", 30),
        string("model", 30),
        integer("hardware_version", nullable=True),
        string("firmware_version", 8, nullable=True),
        string("variant", 2, nullable=True),
        string("esme_variant", 2, nullable=True),
        string("region", 10, nullable=True),
        bigint("chf", nullable=True),
        string("gbcs_version", 10, nullable=True),
        string("smets_version", 20, nullable=True),
        bigint("supplier", nullable=True),
        at("commissioned_at", nullable=True),
        at("updated_at"),
        sa.PrimaryKeyConstraint("eui"),
        sa.Index("ix_devices_chf", "chf"),
        sa.Index("ix_devices_variant", "variant"),
    )
    op.create_table(
        "firmware_deliveries",
        serial("id"),
        string("request_id", 80),
        bigint("device"),
        bigint("chf"),
        string("region", 10),
        string("image_sha256", 64),
        string("firmware_version", 8),
        string("status", 20),
        integer("active"),
        at("updated_at"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("request_id", "device"),
        sa.Index("ix_fd_device_active", "device", "active"),
    )
    op.create_table(
        "firmware_images",
        string("sha256", 64),
        bigint("size"),
        integer("manufacturer_code"),
        integer("image_type"),
        bigint("file_version"),
        string("form", 10),
        string("image_hash", 64),
        at("first_seen"),
        sa.PrimaryKeyConstraint("sha256"),
    )
    op.create_table(
        "inbox",
        string("msg_id", 100),
        at("received_at"),
        sa.PrimaryKeyConstraint("msg_id"),
    )
    op.create_table(
        "outbox",
        serial("id"),
        string("kind", 10),
        string("destination", 100),
        binary("payload"),
        at("created_at"),
        at("not_before"),
        integer("attempts"),
        at("sent_at", nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.Index("ix_outbox_pending", "sent_at", "not_before"),
    )
    op.create_table(
        "service_requests",
        string("request_id", 80),
        bigint("user_eui"),
        bigint("counter"),
        string("srv", 12),
        at("received_at"),
        string("response_code", 10),
        integer("device_count"),
        sa.PrimaryKeyConstraint("request_id"),
        sa.Index("ix_sr_user_time", "user_eui", "received_at"),
    )
    op.create_table(
        "users",
        bigint("eui"),
        string("name", 100),
        string("roles", 60),
        text("cert_pem", nullable=True),
        string("cert_issuer", 200, nullable=True),
        string("cert_serial", 60, nullable=True),
        string("endpoint", 500, nullable=True),
        integer("is_althanco"),
        bigint("last_counter", nullable=True),
        at("created_at"),
        sa.PrimaryKeyConstraint("eui"),
    )
    op.create_table(
        "cpl_history",
        serial("id"),
        integer("entry_id"),
        string("status", 10),
        bigint("by_user"),
        at("at"),
        string("note", 200),
        sa.ForeignKeyConstraint(["entry_id"], ["cpl_entries.id"]),
        sa.PrimaryKeyConstraint("id"),
    )


def downgrade() -> None:
    # the reverse of upgrade's order (cpl_history, with its foreign key, first); a table's
    # indexes go with it
    for table in (
        "cpl_history",
        "users",
        "service_requests",
        "outbox",
        "inbox",
        "firmware_images",
        "firmware_deliveries",
        "devices",
        "device_commands",
        "cpl_entries",
        "chf_device_log",
        "alerts",
    ):
        op.drop_table(table)
