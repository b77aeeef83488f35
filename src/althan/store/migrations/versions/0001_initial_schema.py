"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-24
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:

    op.create_table(
        "alerts",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("code", sa.String(length=10), nullable=False),
        sa.Column("device", sa.BigInteger(), nullable=True),
        sa.Column("user_eui", sa.BigInteger(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("detail", sa.String(length=200), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "chf_device_log",
        sa.Column("chf", sa.BigInteger(), nullable=False),
        sa.Column("device", sa.BigInteger(), nullable=False),
        sa.Column("added_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("chf", "device"),
    )
    op.create_table(
        "cpl_entries",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("manufacturer", sa.String(length=30), nullable=False),
        sa.Column("model", sa.String(length=30), nullable=False),
        sa.Column("hw_min", sa.Integer(), nullable=False),
        sa.Column("hw_max", sa.Integer(), nullable=False),
        sa.Column("firmware_version", sa.String(length=8), nullable=False),
        sa.Column("image_sha256", sa.String(length=64), nullable=False),
        sa.Column("image_hash", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("assured_by", sa.BigInteger(), nullable=False),
        sa.Column("assured_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("manufacturer", "model", "hw_min", "hw_max", "firmware_version"),
    )
    with op.batch_alter_table("cpl_entries", schema=None) as batch_op:
        batch_op.create_index("ix_cpl_sha", ["image_sha256"], unique=False)

    op.create_table(
        "device_commands",
        sa.Column("msg_id", sa.String(length=100), nullable=False),
        sa.Column("request_id", sa.String(length=80), nullable=False),
        sa.Column("user_eui", sa.BigInteger(), nullable=False),
        sa.Column("srv", sa.String(length=12), nullable=False),
        sa.Column("device", sa.BigInteger(), nullable=False),
        sa.Column("chf", sa.BigInteger(), nullable=False),
        sa.Column("detail", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("done_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("msg_id"),
    )
    op.create_table(
        "devices",
        sa.Column("eui", sa.BigInteger(), nullable=False),
        sa.Column("device_type", sa.String(length=10), nullable=False),
        sa.Column("status", sa.String(length=30), nullable=False),
        sa.Column("manufacturer", sa.String(length=30), nullable=False),
        sa.Column("model", sa.String(length=30), nullable=False),
        sa.Column("hardware_version", sa.Integer(), nullable=True),
        sa.Column("firmware_version", sa.String(length=8), nullable=True),
        sa.Column("variant", sa.String(length=2), nullable=True),
        sa.Column("esme_variant", sa.String(length=2), nullable=True),
        sa.Column("region", sa.String(length=10), nullable=True),
        sa.Column("chf", sa.BigInteger(), nullable=True),
        sa.Column("gbcs_version", sa.String(length=10), nullable=True),
        sa.Column("smets_version", sa.String(length=20), nullable=True),
        sa.Column("supplier", sa.BigInteger(), nullable=True),
        sa.Column("commissioned_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("eui"),
    )
    with op.batch_alter_table("devices", schema=None) as batch_op:
        batch_op.create_index("ix_devices_chf", ["chf"], unique=False)
        batch_op.create_index("ix_devices_variant", ["variant"], unique=False)

    op.create_table(
        "firmware_deliveries",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("request_id", sa.String(length=80), nullable=False),
        sa.Column("device", sa.BigInteger(), nullable=False),
        sa.Column("chf", sa.BigInteger(), nullable=False),
        sa.Column("region", sa.String(length=10), nullable=False),
        sa.Column("image_sha256", sa.String(length=64), nullable=False),
        sa.Column("firmware_version", sa.String(length=8), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("active", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("request_id", "device"),
    )
    with op.batch_alter_table("firmware_deliveries", schema=None) as batch_op:
        batch_op.create_index("ix_fd_device_active", ["device", "active"], unique=False)

    op.create_table(
        "firmware_images",
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("manufacturer_code", sa.Integer(), nullable=False),
        sa.Column("image_type", sa.Integer(), nullable=False),
        sa.Column("file_version", sa.BigInteger(), nullable=False),
        sa.Column("form", sa.String(length=10), nullable=False),
        sa.Column("image_hash", sa.String(length=64), nullable=False),
        sa.Column("first_seen", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("sha256"),
    )
    op.create_table(
        "inbox",
        sa.Column("msg_id", sa.String(length=100), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("msg_id"),
    )
    op.create_table(
        "outbox",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("destination", sa.String(length=100), nullable=False),
        sa.Column("payload", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("not_before", sa.DateTime(timezone=True), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.create_index("ix_outbox_pending", ["sent_at", "not_before"], unique=False)

    op.create_table(
        "service_requests",
        sa.Column("request_id", sa.String(length=80), nullable=False),
        sa.Column("user_eui", sa.BigInteger(), nullable=False),
        sa.Column("counter", sa.BigInteger(), nullable=False),
        sa.Column("srv", sa.String(length=12), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("response_code", sa.String(length=10), nullable=False),
        sa.Column("device_count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("request_id"),
    )
    with op.batch_alter_table("service_requests", schema=None) as batch_op:
        batch_op.create_index("ix_sr_user_time", ["user_eui", "received_at"], unique=False)

    op.create_table(
        "users",
        sa.Column("eui", sa.BigInteger(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("roles", sa.String(length=60), nullable=False),
        sa.Column("cert_pem", sa.Text(), nullable=True),
        sa.Column("cert_issuer", sa.String(length=200), nullable=True),
        sa.Column("cert_serial", sa.String(length=60), nullable=True),
        sa.Column("endpoint", sa.String(length=500), nullable=True),
        sa.Column("is_althanco", sa.Integer(), nullable=False),
        sa.Column("last_counter", sa.BigInteger(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("eui"),
    )
    op.create_table(
        "cpl_history",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("entry_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("by_user", sa.BigInteger(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("note", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(
            ["entry_id"],
            ["cpl_entries.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )


def downgrade() -> None:

    op.drop_table("cpl_history")
    op.drop_table("users")
    with op.batch_alter_table("service_requests", schema=None) as batch_op:
        batch_op.drop_index("ix_sr_user_time")

    op.drop_table("service_requests")
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_index("ix_outbox_pending")

    op.drop_table("outbox")
    op.drop_table("inbox")
    op.drop_table("firmware_images")
    with op.batch_alter_table("firmware_deliveries", schema=None) as batch_op:
        batch_op.drop_index("ix_fd_device_active")

    op.drop_table("firmware_deliveries")
    with op.batch_alter_table("devices", schema=None) as batch_op:
        batch_op.drop_index("ix_devices_variant")
        batch_op.drop_index("ix_devices_chf")

    op.drop_table("devices")
    op.drop_table("device_commands")
    with op.batch_alter_table("cpl_entries", schema=None) as batch_op:
        batch_op.drop_index("ix_cpl_sha")

    op.drop_table("cpl_entries")
    op.drop_table("chf_device_log")
    op.drop_table("alerts")
