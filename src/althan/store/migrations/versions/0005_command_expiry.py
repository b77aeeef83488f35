"""a command awaiting its device's response expires (answered N58)

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("device_commands", schema=None) as batch_op:
        batch_op.add_column(sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index("ix_commands_expiry", ["expires_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("device_commands", schema=None) as batch_op:
        batch_op.drop_index("ix_commands_expiry")
        batch_op.drop_column("expires_at")
