"""deliveries carry a deadline and a failure reason; outbox rows are claimed with a lease; their
destinations are data

Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

from althan.store.migrations.columns import at, string

revision = "0002"
down_revision = "0001"


def upgrade() -> None:
    with op.batch_alter_table("firmware_deliveries", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("reason", sa.String(length=200), nullable=False, server_default="")
        )
        batch_op.add_column(at("deadline", nullable=True))
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.add_column(string("claimed_by", 64, nullable=True))
        batch_op.add_column(at("claim_until", nullable=True))
    # SM WAN rows named a simulator address ("csp:North"); they now name the region.
    op.execute(
        "UPDATE outbox SET destination = substr(destination, 5)"
        " WHERE kind = 'smwan' AND destination LIKE 'csp:%'"
    )


def downgrade() -> None:
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_column("claim_until")
        batch_op.drop_column("claimed_by")
    op.execute("UPDATE outbox SET destination = 'csp:' || destination WHERE kind = 'smwan'")
    with op.batch_alter_table("firmware_deliveries", schema=None) as batch_op:
        batch_op.drop_column("deadline")
        batch_op.drop_column("reason")
