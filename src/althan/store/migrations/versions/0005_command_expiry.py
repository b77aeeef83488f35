"""a command awaiting its device's response expires (answered N58)

Create Date: 2026-12-02
"""

from alembic import op

from althan.store.migrations.columns import at

revision = "0005"
down_revision = "0004"


def upgrade() -> None:
    with op.batch_alter_table("device_commands", schema=None) as batch_op:
        batch_op.add_column(at("expires_at", nullable=True))
        batch_op.create_index("ix_commands_expiry", ["expires_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("device_commands", schema=None) as batch_op:
        batch_op.drop_index("ix_commands_expiry")
        batch_op.drop_column("expires_at")
