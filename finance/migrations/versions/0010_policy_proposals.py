"""policy proposals: a loosening policy waits for a second person

Revision ID: 0010
Revises: 0009
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

_JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    with op.batch_alter_table("policy_versions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("created_by_user_id", sa.Uuid(), nullable=True))
        batch_op.add_column(sa.Column("proposed_by", sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column("proposed_by_user_id", sa.Uuid(), nullable=True))
        batch_op.add_column(sa.Column("proposed_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("base_version", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("loosenings", _JSON, nullable=True))
        batch_op.add_column(sa.Column("approved_by", sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column("approved_by_user_id", sa.Uuid(), nullable=True))
        batch_op.add_column(sa.Column("approved_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("rejected_by", sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column("rejected_by_user_id", sa.Uuid(), nullable=True))
        batch_op.add_column(sa.Column("rejected_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("policy_versions", schema=None) as batch_op:
        for column in (
            "rejected_at",
            "rejected_by_user_id",
            "rejected_by",
            "approved_at",
            "approved_by_user_id",
            "approved_by",
            "loosenings",
            "base_version",
            "proposed_at",
            "proposed_by_user_id",
            "proposed_by",
            "created_by_user_id",
        ):
            batch_op.drop_column(column)
