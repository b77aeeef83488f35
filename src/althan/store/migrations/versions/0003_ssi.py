"""the Self-Service Interface: accounts, sign-in failures, the session key; what its pages read
(11.4 warning lists, the outbox row of each alert and device response, search indexes)

Create Date: 2026-12-08
"""

import sqlalchemy as sa
from alembic import op

from althan.store.migrations.columns import at, bigint, integer, serial, string

revision = "0003"
down_revision = "0002"

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
        string("login", 64),
        string("role", 10),
        bigint("user_eui", nullable=True),
        string("password_hash", 200),
        string("session_key", 32),
        at("created_at"),
        sa.PrimaryKeyConstraint("login"),
    )
    op.create_table(
        "ssi_signin_failures",
        serial("id"),
        string("login", 64),
        string("client", 64),
        at("at"),
        sa.PrimaryKeyConstraint("id"),
        sa.Index("ix_ssi_fail_login", "login", "at"),
        sa.Index("ix_ssi_fail_client", "client", "at"),
    )
    op.create_table(
        "ssi_secrets",
        string("name", 40),
        string("value", 128),
        sa.PrimaryKeyConstraint("name"),
    )
    op.create_table(
        "firmware_warnings",
        string("request_id", 80),
        bigint("device"),
        string("list", 40),
        sa.PrimaryKeyConstraint("request_id", "device"),
    )
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.add_column(integer("alert_id", nullable=True))
        batch_op.add_column(string("request_id", 80, nullable=True))
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
    # a table's indexes go with it
    for table in ("firmware_warnings", "ssi_secrets", "ssi_signin_failures", "ssi_accounts"):
        op.drop_table(table)
