"""one identity per credential, vendor verification, vendor changes under four eyes, token versions

Revision ID: 0008
Revises: 0007

Vendors registered before this revision were registered by one person with nobody verifying them: they
come back `pending_verification` and are not paid until a second person verifies each one (fail closed).
API keys are linked to the user whose e-mail their free-text owner names (case-folded); a key whose owner
is no user is revoked, because it could not be told apart from another person's credential.
Open payout-address change requests are carried over as vendor changes.
"""

import json
import uuid

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

_JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("token_version", sa.Integer(), nullable=False, server_default="0"))

    with op.batch_alter_table("api_keys", schema=None) as batch_op:
        batch_op.add_column(sa.Column("user_id", sa.Uuid(), nullable=True))
        batch_op.create_index(batch_op.f("ix_api_keys_user_id"), ["user_id"], unique=False)
        batch_op.create_foreign_key("fk_api_keys_user_id", "users", ["user_id"], ["id"])
    bind = op.get_bind()
    users = {email: user_id for user_id, email in bind.execute(sa.text("SELECT id, email FROM users"))}
    for key_id, owner in list(bind.execute(sa.text("SELECT id, owner FROM api_keys"))):
        user_id = users.get(owner.strip().casefold())
        if user_id is not None:
            bind.execute(
                sa.text("UPDATE api_keys SET user_id = :user_id WHERE id = :id"), {"user_id": user_id, "id": key_id}
            )
        else:
            bind.execute(
                sa.text("UPDATE api_keys SET revoked_at = CURRENT_TIMESTAMP WHERE id = :id AND revoked_at IS NULL"),
                {"id": key_id},
            )

    with op.batch_alter_table("invoices", schema=None) as batch_op:
        batch_op.add_column(sa.Column("submitted_by_user_id", sa.Uuid(), nullable=True))

    with op.batch_alter_table("vendors", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("status", sa.String(length=24), nullable=False, server_default="pending_verification")
        )
        batch_op.add_column(sa.Column("registered_by", sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column("registered_by_user_id", sa.Uuid(), nullable=True))
        batch_op.add_column(sa.Column("verified_by", sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column("verified_by_user_id", sa.Uuid(), nullable=True))
        batch_op.add_column(sa.Column("verified_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("payee_vouched_by", _JSON, nullable=False, server_default="[]"))
        batch_op.add_column(sa.Column("payee_since", sa.DateTime(timezone=True), nullable=True))
    bind.execute(sa.text("UPDATE vendors SET payee_since = created_at"))

    op.create_table(
        "vendor_changes",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("vendor_id", sa.Uuid(), nullable=False),
        sa.Column("changes", _JSON, nullable=False),
        sa.Column("previous", _JSON, nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("requested_by", sa.String(length=200), nullable=False),
        sa.Column("requested_by_user_id", sa.Uuid(), nullable=True),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_by", sa.String(length=200), nullable=True),
        sa.Column("decided_by_user_id", sa.Uuid(), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["vendor_id"], ["vendors.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("vendor_changes", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_vendor_changes_vendor_id"), ["vendor_id"], unique=False)
        batch_op.create_index(
            "uq_vendor_changes_pending",
            ["vendor_id"],
            unique=True,
            postgresql_where=sa.text("status = 'pending'"),
            sqlite_where=sa.text("status = 'pending'"),
        )
    changes = sa.table(
        "vendor_changes",
        sa.column("id", sa.Uuid()),
        sa.column("vendor_id", sa.Uuid()),
        sa.column("changes", _JSON),
        sa.column("previous", _JSON),
        sa.column("status", sa.String()),
        sa.column("requested_by", sa.String()),
        sa.column("requested_at", sa.DateTime(timezone=True)),
        sa.column("decided_by", sa.String()),
        sa.column("decided_at", sa.DateTime(timezone=True)),
    )
    old = bind.execute(
        sa.text(
            "SELECT vendor_id, old_address, new_address, status, requested_by, requested_at, decided_by, decided_at "
            "FROM vendor_payout_changes"
        )
    )
    rows = [
        {
            "id": uuid.uuid4(),
            "vendor_id": uuid.UUID(str(row.vendor_id)),
            "changes": {"payout_address": row.new_address},
            "previous": {"payout_address": row.old_address},
            "status": row.status,
            "requested_by": row.requested_by,
            "requested_at": row.requested_at,
            "decided_by": row.decided_by,
            "decided_at": row.decided_at,
        }
        for row in old
    ]
    if rows:
        op.bulk_insert(changes, rows)
    op.drop_table("vendor_payout_changes")

    with op.batch_alter_table("approval_requests", schema=None) as batch_op:
        batch_op.add_column(sa.Column("excluded_user_ids", _JSON, nullable=False, server_default="[]"))
    with op.batch_alter_table("approval_votes", schema=None) as batch_op:
        batch_op.add_column(sa.Column("approver_user_id", sa.Uuid(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("approval_votes", schema=None) as batch_op:
        batch_op.drop_column("approver_user_id")
    with op.batch_alter_table("approval_requests", schema=None) as batch_op:
        batch_op.drop_column("excluded_user_ids")
    op.create_table(
        "vendor_payout_changes",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("vendor_id", sa.Uuid(), nullable=False),
        sa.Column("old_address", sa.String(length=42), nullable=False),
        sa.Column("new_address", sa.String(length=42), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("requested_by", sa.String(length=200), nullable=False),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_by", sa.String(length=200), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["vendor_id"], ["vendors.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("vendor_payout_changes", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_vendor_payout_changes_vendor_id"), ["vendor_id"], unique=False)
        batch_op.create_index(
            "uq_vendor_payout_changes_pending",
            ["vendor_id"],
            unique=True,
            postgresql_where=sa.text("status = 'pending'"),
            sqlite_where=sa.text("status = 'pending'"),
        )
    bind = op.get_bind()
    for row in list(bind.execute(sa.text("SELECT * FROM vendor_changes"))):
        changes = row.changes if isinstance(row.changes, dict) else json.loads(row.changes)
        previous = row.previous if isinstance(row.previous, dict) else json.loads(row.previous)
        if set(changes) == {"payout_address"}:
            bind.execute(
                sa.text(
                    "INSERT INTO vendor_payout_changes (id, vendor_id, old_address, new_address, status, "
                    "requested_by, requested_at, decided_by, decided_at) VALUES (:id, :vendor_id, :old, :new, "
                    ":status, :requested_by, :requested_at, :decided_by, :decided_at)"
                ),
                {
                    "id": row.id,
                    "vendor_id": row.vendor_id,
                    "old": previous["payout_address"],
                    "new": changes["payout_address"],
                    "status": row.status,
                    "requested_by": row.requested_by,
                    "requested_at": row.requested_at,
                    "decided_by": row.decided_by,
                    "decided_at": row.decided_at,
                },
            )
    op.drop_table("vendor_changes")
    with op.batch_alter_table("vendors", schema=None) as batch_op:
        for column in (
            "payee_since",
            "payee_vouched_by",
            "verified_at",
            "verified_by_user_id",
            "verified_by",
            "registered_by_user_id",
            "registered_by",
            "status",
        ):
            batch_op.drop_column(column)
    with op.batch_alter_table("invoices", schema=None) as batch_op:
        batch_op.drop_column("submitted_by_user_id")
    with op.batch_alter_table("api_keys", schema=None) as batch_op:
        batch_op.drop_constraint("fk_api_keys_user_id", type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_api_keys_user_id"))
        batch_op.drop_column("user_id")
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("token_version")
