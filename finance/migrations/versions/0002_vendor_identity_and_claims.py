"""vendor identity (tax id, known accounts) and invoice claims for duplicate detection

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

JSON_DOC = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    with op.batch_alter_table("vendors", schema=None) as batch_op:
        batch_op.add_column(sa.Column("tax_id", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("known_accounts", JSON_DOC, nullable=False, server_default="[]"))
        batch_op.create_unique_constraint("uq_vendors_tax_id", ["tax_id"])

    op.create_table(
        "invoice_claims",
        sa.Column("key", sa.String(length=300), nullable=False),
        sa.Column("invoice_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["invoice_id"], ["invoices.id"]),
        sa.PrimaryKeyConstraint("key"),
    )
    with op.batch_alter_table("invoice_claims", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_invoice_claims_invoice_id"), ["invoice_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("invoice_claims", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_invoice_claims_invoice_id"))
    op.drop_table("invoice_claims")
    with op.batch_alter_table("vendors", schema=None) as batch_op:
        batch_op.drop_constraint("uq_vendors_tax_id", type_="unique")
        batch_op.drop_column("known_accounts")
        batch_op.drop_column("tax_id")
