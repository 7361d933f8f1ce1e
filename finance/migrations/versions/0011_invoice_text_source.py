"""record where an invoice's text came from: typed, a PDF's text layer, OCR, or an e-invoice's XML

Revision ID: 0011
Revises: 0010
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("invoices", schema=None) as batch_op:
        # Existing rows were typed or read from a PDF's text layer; "text" claims nothing more than that.
        batch_op.add_column(sa.Column("text_source", sa.String(length=16), nullable=False, server_default="text"))


def downgrade() -> None:
    with op.batch_alter_table("invoices", schema=None) as batch_op:
        batch_op.drop_column("text_source")
