"""decision seq and audit anchors

Revision ID: 0009
Revises: 0008

`decisions.seq` numbers the log 1, 2, 3, ... in chain order, so a deleted row leaves a missing number and an
anchor on chain can name the row it vouches for. Existing rows are numbered by id, which is chain order:
every append took the chain lock before its insert drew the id.

The row hash is left as it was and does not cover seq. Covering it would mean recomputing every existing
hash here, which is exactly the rewrite the log exists to expose: an export or an auditor's copy taken before
the upgrade would stop matching, and the database would be trusted at the one moment nothing checks it.
Nothing is lost by leaving seq out: a row's hash commits to every row before it, hence to its position, so
verification checks that seq equals that position instead of hashing it.
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

BASE_UNITS = sa.Numeric(78, 0).with_variant(sa.String(80), "sqlite")
LIVE = "status IN ('signed', 'broadcast', 'mined')"

# Same triggers as 0001: SQLite's die with the table when batch mode rebuilds it, so they are dropped and made again.
SQLITE_DROP = ["DROP TRIGGER IF EXISTS decisions_no_update", "DROP TRIGGER IF EXISTS decisions_no_delete"]
SQLITE_APPEND_ONLY = [
    "CREATE TRIGGER decisions_no_update BEFORE UPDATE ON decisions "
    "BEGIN SELECT RAISE(ABORT, 'decisions are append-only: UPDATE refused'); END",
    "CREATE TRIGGER decisions_no_delete BEFORE DELETE ON decisions "
    "BEGIN SELECT RAISE(ABORT, 'decisions are append-only: DELETE refused'); END",
]
PG_NUMBER = """
UPDATE decisions SET seq = numbered.n
FROM (SELECT id, row_number() OVER (ORDER BY id) AS n FROM decisions) AS numbered
WHERE decisions.id = numbered.id
"""
SQLITE_NUMBER = "UPDATE decisions SET seq = (SELECT count(*) FROM decisions AS d WHERE d.id <= decisions.id)"


def _number_decisions() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.add_column("decisions", sa.Column("seq", sa.BigInteger(), nullable=True))
        # The guard refuses UPDATE; this one, numbering rows without touching what their hashes cover, is ours.
        op.execute("ALTER TABLE decisions DISABLE TRIGGER decisions_no_update")
        op.execute(PG_NUMBER)
        op.execute("ALTER TABLE decisions ENABLE TRIGGER decisions_no_update")
        op.alter_column("decisions", "seq", nullable=False)
        op.create_unique_constraint("uq_decisions_seq", "decisions", ["seq"])
        return
    for statement in SQLITE_DROP:
        op.execute(statement)
    op.add_column("decisions", sa.Column("seq", sa.BigInteger(), nullable=True))
    op.execute(SQLITE_NUMBER)
    with op.batch_alter_table("decisions", schema=None) as batch_op:
        batch_op.alter_column("seq", existing_type=sa.BigInteger(), nullable=False)
        batch_op.create_unique_constraint("uq_decisions_seq", ["seq"])
    for statement in SQLITE_APPEND_ONLY:
        op.execute(statement)


def upgrade() -> None:
    _number_decisions()
    op.create_table(
        "audit_anchors",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("head_hash", sa.String(length=64), nullable=False),
        sa.Column("chain_id", sa.BigInteger(), nullable=False),
        sa.Column("from_address", sa.String(length=42), nullable=False),
        sa.Column("nonce", sa.BigInteger(), nullable=False),
        sa.Column("tx_hash", sa.String(length=66), nullable=False),
        sa.Column("raw_tx", sa.Text(), nullable=False),
        sa.Column("gas_limit", sa.BigInteger(), nullable=False),
        sa.Column("max_fee_per_gas", BASE_UNITS, nullable=False),
        sa.Column("max_priority_fee_per_gas", BASE_UNITS, nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("block_number", sa.BigInteger(), nullable=True),
        sa.Column("gas_used", sa.BigInteger(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("tx_hash"),
    )
    with op.batch_alter_table("audit_anchors", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_audit_anchors_seq"), ["seq"], unique=False)
        batch_op.create_index(batch_op.f("ix_audit_anchors_status"), ["status"], unique=False)
        batch_op.create_index(
            "uq_audit_anchors_live_seq",
            ["seq"],
            unique=True,
            postgresql_where=sa.text(LIVE),
            sqlite_where=sa.text(LIVE),
        )


def downgrade() -> None:
    with op.batch_alter_table("audit_anchors", schema=None) as batch_op:
        batch_op.drop_index("uq_audit_anchors_live_seq", postgresql_where=sa.text(LIVE), sqlite_where=sa.text(LIVE))
        batch_op.drop_index(batch_op.f("ix_audit_anchors_status"))
        batch_op.drop_index(batch_op.f("ix_audit_anchors_seq"))
    op.drop_table("audit_anchors")
    if op.get_bind().dialect.name == "postgresql":
        op.drop_constraint("uq_decisions_seq", "decisions", type_="unique")
        op.drop_column("decisions", "seq")
        return
    for statement in SQLITE_DROP:
        op.execute(statement)
    with op.batch_alter_table("decisions", schema=None) as batch_op:
        batch_op.drop_constraint("uq_decisions_seq", type_="unique")
        batch_op.drop_column("seq")
    for statement in SQLITE_APPEND_ONLY:
        op.execute(statement)
