"""firmware_deliveries: drop ix_fd_request_device, a copy of the (request_id, device) unique
constraint's own index (every 11.4 delivery paid for both)

Create Date: 2026-12-02
"""

from alembic import op

revision = "0006"
down_revision = "0005"


def upgrade() -> None:
    op.drop_index("ix_fd_request_device", table_name="firmware_deliveries")


def downgrade() -> None:
    op.create_index(
        "ix_fd_request_device", "firmware_deliveries", ["request_id", "device"], unique=False
    )
