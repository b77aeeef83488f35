"""the Self-Service Interface: accounts, sign-in failures, the session key; what its pages read
(11.4 warning lists, the outbox row of each alert and device response, search indexes)

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-08
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

_DEVICE_INDEXES = {
    "ix_devices_chf_eui": ["chf", "eui"],
    "ix_devices_variant_eui": ["variant", "eui"],
    "ix_devices_supplier_eui": ["supplier", "eui"],
    "ix_devices_status_eui": ["status", "eui"],
    "ix_devices_region_eui": ["region", "eui"],
    "ix_devices_type_eui": ["device_type", "eui"],
    "ix_devices_fw_eui": ["firmware_version", "eui"],
}
_OTHER_INDEXES = (
    ("ix_fd_request_device", "firmware_deliveries", ["request_id", "device"]),
    ("ix_commands_device", "device_commands", ["device", "created_at"]),
    ("ix_alerts_device", "alerts", ["device", "id"]),
    ("ix_alerts_user", "alerts", ["user_eui", "id"]),
    ("ix_sr_time", "service_requests", ["received_at"]),
    ("ix_sr_srv_time", "service_requests", ["srv", "received_at"]),
    ("ix_outbox_alert", "outbox", ["alert_id"]),
    ("ix_outbox_request", "outbox", ["request_id"]),
)


def upgrade() -> None:
    op.create_table(
        "ssi_accounts",
        sa.Column("login", sa.String(length=64), nullable=False),
        sa.Column("role", sa.String(length=10), nullable=False),
        sa.Column("user_eui", sa.BigInteger(), nullable=True),
        sa.Column("password_hash", sa.String(length=200), nullable=False),
        sa.Column("session_key", sa.String(length=32), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("login"),
    )
    op.create_table(
        "ssi_signin_failures",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("login", sa.String(length=64), nullable=False),
        sa.Column("client", sa.String(length=64), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_ssi_fail_login", "ssi_signin_failures", ["login", "at"])
    op.create_index("ix_ssi_fail_client", "ssi_signin_failures", ["client", "at"])
    op.create_table(
        "ssi_secrets",
        sa.Column("name", sa.String(length=40), nullable=False),
        sa.Column("value", sa.String(length=128), nullable=False),
        sa.PrimaryKeyConstraint("name"),
    )
    op.create_table(
        "firmware_warnings",
        sa.Column("request_id", sa.String(length=80), nullable=False),
        sa.Column("device", sa.BigInteger(), nullable=False),
        sa.Column("list", sa.String(length=40), nullable=False),
        sa.PrimaryKeyConstraint("request_id", "device"),
    )
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.add_column(sa.Column("alert_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("request_id", sa.String(length=80), nullable=True))
    with op.batch_alter_table("devices", schema=None) as batch_op:
        batch_op.drop_index("ix_devices_chf")
        batch_op.drop_index("ix_devices_variant")
    for name, cols in _DEVICE_INDEXES.items():
        op.create_index(name, "devices", cols)
    for name, table, cols in _OTHER_INDEXES:
        op.create_index(name, table, cols)


def downgrade() -> None:
    for name, table, _cols in _OTHER_INDEXES:
        op.drop_index(name, table_name=table)
    for name in _DEVICE_INDEXES:
        op.drop_index(name, table_name="devices")
    op.create_index("ix_devices_chf", "devices", ["chf"])
    op.create_index("ix_devices_variant", "devices", ["variant"])
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_column("request_id")
        batch_op.drop_column("alert_id")
    op.drop_table("firmware_warnings")
    op.drop_table("ssi_secrets")
    op.drop_index("ix_ssi_fail_client", table_name="ssi_signin_failures")
    op.drop_index("ix_ssi_fail_login", table_name="ssi_signin_failures")
    op.drop_table("ssi_signin_failures")
    op.drop_table("ssi_accounts")
