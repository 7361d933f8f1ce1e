"""The system of record. Every table here lives in PostgreSQL in production (SQLite in the demo).

Money is an integer of token base units (`BaseUnits`), never a float: `Numeric(78, 0)` holds any
uint256. SQLite cannot store integers past 2**63 exactly, so there the same column is text.
"""

from __future__ import annotations

import enum
import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    Numeric,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    Uuid,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


def utcnow() -> datetime:
    return datetime.now(UTC)


def as_utc(moment: datetime) -> datetime:
    """A timestamp read back from the database, zone-aware. SQLite hands back naive datetimes; every one was
    written in UTC, and reading it as local time would move deadlines and windows."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


class BaseUnits(TypeDecorator[int]):
    """An amount in token base units: exact at any size, on either database."""

    impl = Numeric(78, 0)
    cache_ok = True

    def load_dialect_impl(self, dialect):  # SQLAlchemy's signature
        if dialect.name == "sqlite":
            return dialect.type_descriptor(String(80))
        return dialect.type_descriptor(Numeric(78, 0))

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int):
            raise TypeError(f"base units must be an int, got {type(value).__name__}")
        return str(value) if dialect.name == "sqlite" else value

    def process_result_value(self, value, dialect):
        return None if value is None else int(value)


JsonDoc = JSON().with_variant(JSONB(), "postgresql")
Timestamp = DateTime(timezone=True)


class Base(DeclarativeBase):
    pass


class InvoiceStatus(enum.StrEnum):
    RECEIVED = "received"
    PROCESSING = "processing"
    PENDING_APPROVAL = "pending_approval"
    BLOCKED = "blocked"
    PAYING = "paying"
    PAID = "paid"
    FAILED = "failed"
    # Ends of an approval that never came: nothing was paid.
    REJECTED = "rejected"
    EXPIRED = "expired"
    CANCELLED = "cancelled"


class PaymentStatus(enum.StrEnum):
    PENDING = "pending"  # intent recorded, nothing signed yet
    SUBMITTED = "submitted"  # an attempt is signed and persisted; it may or may not be on chain
    CONFIRMED = "confirmed"  # receipt status 1, confirmations reached, Transfer event matched
    FAILED = "failed"


class AttemptStatus(enum.StrEnum):
    SIGNED = "signed"
    BROADCAST = "broadcast"
    MINED = "mined"
    FAILED = "failed"
    REPLACED = "replaced"


class VendorStatus(enum.StrEnum):
    # Registered by one person, not yet vouched for by a second: never paid.
    PENDING_VERIFICATION = "pending_verification"
    VERIFIED = "verified"


class Vendor(Base):
    """A payee. Registering one, and every later change to what identifies or pays it, needs a second person
    (`finance.vendor_changes`): one insider alone can neither add a payee nor redirect one."""

    __tablename__ = "vendors"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    name: Mapped[str] = mapped_column(String(200))
    # Lower-cased, legal form and punctuation stripped: the key invoices are matched on.
    normalized_name: Mapped[str] = mapped_column(String(200), unique=True)
    aliases: Mapped[list[str]] = mapped_column(JsonDoc, default=list)
    # VAT / tax registration number, upper-case letters and digits only.
    tax_id: Mapped[str | None] = mapped_column(String(64), unique=True)
    # Bank accounts (IBANs without spaces) the vendor is known to print on its invoices. They identify
    # the vendor; an invoice showing another account is a payee change. Payments never go to them.
    known_accounts: Mapped[list[str]] = mapped_column(JsonDoc, default=list)
    category: Mapped[str | None] = mapped_column(String(64))  # budgets are kept per category
    payout_address: Mapped[str] = mapped_column(String(42))  # EIP-55 checksummed
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    status: Mapped[VendorStatus] = mapped_column(String(24), default=VendorStatus.PENDING_VERIFICATION)
    registered_by: Mapped[str | None] = mapped_column(String(200))
    registered_by_user_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    verified_by: Mapped[str | None] = mapped_column(String(200))
    verified_by_user_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    verified_at: Mapped[datetime | None] = mapped_column(Timestamp)
    # Who put the current payout address where it is (registered, edited, verified, requested or approved it):
    # none of them may approve the first payment to it, or submit a bill paid to it (separation of duties).
    payee_vouched_by: Mapped[list[str]] = mapped_column(JsonDoc, default=list)
    # When the current payout address became payable: the start of a new payee's cooling-off period.
    payee_since: Mapped[datetime | None] = mapped_column(Timestamp)
    created_at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow)


class Invoice(Base):
    __tablename__ = "invoices"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    raw_text: Mapped[str] = mapped_column(Text)
    text_sha256: Mapped[str] = mapped_column(String(64), index=True)
    # The document as received (a PDF), kept as the evidence the text was read from.
    document: Mapped[bytes | None] = mapped_column(LargeBinary, deferred=True)
    document_type: Mapped[str | None] = mapped_column(String(100))
    # Where `raw_text` came from (agents.extraction.uploads.TextSource): OCR text is a reading, not the
    # document, and an e-invoice's XML is read again at extraction as the exact values.
    text_source: Mapped[str] = mapped_column(String(16), default="text", server_default="text")
    # OCR text only: [start, end) spans of the words the OCR may have misread, so extraction can tell a value
    # read from a doubtful word (agents.extraction.ocr_confidence). Null for every other source.
    ocr_doubtful_spans: Mapped[list[list[int]] | None] = mapped_column(JsonDoc)
    status: Mapped[InvoiceStatus] = mapped_column(String(32), default=InvoiceStatus.RECEIVED)
    reason: Mapped[str | None] = mapped_column(Text)
    vendor_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("vendors.id"))
    vendor_name: Mapped[str | None] = mapped_column(String(200))
    invoice_number: Mapped[str | None] = mapped_column(String(100))
    currency: Mapped[str | None] = mapped_column(String(8))
    total_units: Mapped[int | None] = mapped_column(BaseUnits)
    fields: Mapped[dict[str, Any] | None] = mapped_column(JsonDoc)
    submitted_by: Mapped[str | None] = mapped_column(String(200))
    submitted_by_user_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    created_at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow, onupdate=utcnow)


class Payment(Base):
    """One payment intent per invoice. Retries and fee bumps are attempts, never new payments."""

    __tablename__ = "payments"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    # The idempotency key: a second run of the pay step finds this row instead of paying again.
    invoice_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("invoices.id"), unique=True)
    # vendor + normalised invoice number: two submissions of the same bill cannot both pay,
    # even when they race, because the second insert violates this constraint.
    dedupe_key: Mapped[str] = mapped_column(String(300), unique=True)
    vendor_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("vendors.id"))
    payee_address: Mapped[str] = mapped_column(String(42))
    amount_units: Mapped[int] = mapped_column(BaseUnits)
    chain_id: Mapped[int] = mapped_column(BigInteger)
    token_address: Mapped[str] = mapped_column(String(42))
    status: Mapped[PaymentStatus] = mapped_column(String(16), default=PaymentStatus.PENDING, index=True)
    tx_hash: Mapped[str | None] = mapped_column(String(66))
    failure_reason: Mapped[str | None] = mapped_column(Text)
    # Indexed: velocity limits, budgets and burn all read recent payments by these times.
    created_at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow, index=True)
    settled_at: Mapped[datetime | None] = mapped_column(Timestamp, index=True)


class PaymentAttempt(Base):
    """A signed transaction, stored with its hash before it is broadcast."""

    __tablename__ = "payment_attempts"
    __table_args__ = (UniqueConstraint("payment_id", "attempt_no"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    payment_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("payments.id"), index=True)
    attempt_no: Mapped[int] = mapped_column(Integer)
    from_address: Mapped[str] = mapped_column(String(42))
    nonce: Mapped[int] = mapped_column(BigInteger)
    tx_hash: Mapped[str] = mapped_column(String(66), unique=True)
    raw_tx: Mapped[str] = mapped_column(Text)
    gas_limit: Mapped[int] = mapped_column(BigInteger)
    max_fee_per_gas: Mapped[int] = mapped_column(BaseUnits)
    max_priority_fee_per_gas: Mapped[int] = mapped_column(BaseUnits)
    status: Mapped[AttemptStatus] = mapped_column(String(16), default=AttemptStatus.SIGNED)
    block_number: Mapped[int | None] = mapped_column(BigInteger)
    gas_used: Mapped[int | None] = mapped_column(BigInteger)
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow)


class InvoiceClaim(Base):
    """A bill's identity, claimed by the first invoice that presents it.

    The primary key is what makes duplicate detection race-safe: of two submissions of one bill that
    arrive together, exactly one insert succeeds. Claims of invoices that end blocked or failed are
    released, so a corrected resubmission is not mistaken for a duplicate.
    """

    __tablename__ = "invoice_claims"

    key: Mapped[str] = mapped_column(String(300), primary_key=True)
    invoice_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("invoices.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # "number" | "amount_date"
    created_at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow)


class WalletNonce(Base):
    """The next nonce of a hot wallet. Allocated with an atomic UPDATE so workers never share one."""

    __tablename__ = "wallet_nonces"

    chain_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    address: Mapped[str] = mapped_column(String(42), primary_key=True)
    next_nonce: Mapped[int] = mapped_column(BigInteger)


class TokenDeployment(Base):
    """Where `treasurer chain bootstrap` put the stablecoin on a dev chain."""

    __tablename__ = "token_deployments"

    chain_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    address: Mapped[str] = mapped_column(String(42))
    symbol: Mapped[str] = mapped_column(String(32))
    decimals: Mapped[int] = mapped_column(Integer)
    deployed_at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow)


class Decision(Base):
    """Append-only, hash-chained log of everything the treasurer decided and why.

    Each row's `hash` covers its content and the previous row's hash, so altering or deleting any
    row breaks every hash after it. The unique `prev_hash` makes a fork (two rows claiming the same
    predecessor, e.g. from two racing writers) impossible at the database level.
    """

    __tablename__ = "decisions"
    __table_args__ = (
        Index("ix_decisions_invoice", "invoice_id", "id"),
        UniqueConstraint("seq", name="uq_decisions_seq"),
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    # 1, 2, 3, ... with no gaps: a deleted row shows as a missing number, and anchors name rows by it.
    seq: Mapped[int] = mapped_column(BigInteger)
    invoice_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    step: Mapped[str] = mapped_column(String(32))
    outcome: Mapped[str] = mapped_column(String(32))
    reason: Mapped[str] = mapped_column(Text)
    details: Mapped[dict[str, Any]] = mapped_column(JsonDoc, default=dict)
    actor: Mapped[str] = mapped_column(String(200), default="treasurer")
    created_at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow)
    prev_hash: Mapped[str] = mapped_column(String(64), unique=True)
    hash: Mapped[str] = mapped_column(String(64), unique=True)


class AnchorStatus(enum.StrEnum):
    SIGNED = "signed"
    BROADCAST = "broadcast"
    MINED = "mined"
    FAILED = "failed"
    REPLACED = "replaced"


# The anchors that hold (or may still come to hold) their nonce and their place in the log.
LIVE_ANCHOR_STATUSES = (AnchorStatus.SIGNED, AnchorStatus.BROADCAST, AnchorStatus.MINED)
_LIVE_ANCHOR = "status IN ('signed', 'broadcast', 'mined')"


class AuditAnchor(Base):
    """The decision log's head (seq, hash) written into a transaction from the treasury wallet to itself.

    Stored, signed, before it is broadcast, like a payment attempt: its nonce comes from the same allocator.
    A stuck anchor is replaced (same nonce, fees bumped) by a new row for the same seq; only one row per seq
    is live, which is also what stops two workers anchoring the same head twice.
    """

    __tablename__ = "audit_anchors"
    __table_args__ = (
        Index(
            "uq_audit_anchors_live_seq",
            "seq",
            unique=True,
            postgresql_where=text(_LIVE_ANCHOR),
            sqlite_where=text(_LIVE_ANCHOR),
        ),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    seq: Mapped[int] = mapped_column(BigInteger, index=True)
    head_hash: Mapped[str] = mapped_column(String(64))
    chain_id: Mapped[int] = mapped_column(BigInteger)
    from_address: Mapped[str] = mapped_column(String(42))
    nonce: Mapped[int] = mapped_column(BigInteger)
    tx_hash: Mapped[str] = mapped_column(String(66), unique=True)
    raw_tx: Mapped[str] = mapped_column(Text)
    gas_limit: Mapped[int] = mapped_column(BigInteger)
    max_fee_per_gas: Mapped[int] = mapped_column(BaseUnits)
    max_priority_fee_per_gas: Mapped[int] = mapped_column(BaseUnits)
    status: Mapped[AnchorStatus] = mapped_column(String(16), default=AnchorStatus.SIGNED, index=True)
    block_number: Mapped[int | None] = mapped_column(BigInteger)
    gas_used: Mapped[int | None] = mapped_column(BigInteger)
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow)


class VendorChangeStatus(enum.StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"


class VendorChange(Base):
    """A requested change to what identifies or pays a vendor (name, aliases, tax id, bank accounts, category,
    payout address, reactivation). It takes effect only when someone other than its requester approves it;
    until then the vendor is on hold, because a changed identity or address is how invoice fraud gets paid."""

    __tablename__ = "vendor_changes"
    __table_args__ = (
        # At most one open request per vendor: two racing requests cannot both wait for approval.
        Index(
            "uq_vendor_changes_pending",
            "vendor_id",
            unique=True,
            postgresql_where=text("status = 'pending'"),
            sqlite_where=text("status = 'pending'"),
        ),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    vendor_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("vendors.id"), index=True)
    # field -> new value (normalised), and field -> value when requested, shown to whoever decides.
    changes: Mapped[dict[str, Any]] = mapped_column(JsonDoc)
    previous: Mapped[dict[str, Any]] = mapped_column(JsonDoc)
    status: Mapped[VendorChangeStatus] = mapped_column(String(16), default=VendorChangeStatus.PENDING)
    requested_by: Mapped[str] = mapped_column(String(200))
    requested_by_user_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    requested_at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow)
    decided_by: Mapped[str | None] = mapped_column(String(200))
    decided_by_user_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    decided_at: Mapped[datetime | None] = mapped_column(Timestamp)


class PolicyStatus(enum.StrEnum):
    DRAFT = "draft"
    # A draft that loosens a control: it waits for a second person (`finance.policy_changes`).
    PROPOSED = "proposed"
    ACTIVE = "active"
    RETIRED = "retired"
    REJECTED = "rejected"


class PolicyVersion(Base):
    """A policy document. Drafts are edited and dry-run; publishing numbers it and makes it the one
    active version (the previous one is retired, never deleted, so every past decision can be replayed)."""

    __tablename__ = "policy_versions"
    __table_args__ = (
        # Never two active versions, whatever two concurrent publishes do.
        Index(
            "uq_policy_versions_active",
            "status",
            unique=True,
            postgresql_where=text("status = 'active'"),
            sqlite_where=text("status = 'active'"),
        ),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    version: Mapped[int | None] = mapped_column(Integer, unique=True)  # assigned when published
    status: Mapped[PolicyStatus] = mapped_column(String(16), default=PolicyStatus.DRAFT)
    document: Mapped[dict[str, Any]] = mapped_column(JsonDoc)
    comment: Mapped[str | None] = mapped_column(Text)
    created_by: Mapped[str] = mapped_column(String(200))
    created_by_user_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    created_at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow)
    published_by: Mapped[str | None] = mapped_column(String(200))
    published_at: Mapped[datetime | None] = mapped_column(Timestamp)
    # A loosening change: who proposed it, against which active version, and every way it loosens.
    proposed_by: Mapped[str | None] = mapped_column(String(200))
    proposed_by_user_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    proposed_at: Mapped[datetime | None] = mapped_column(Timestamp)
    base_version: Mapped[int | None] = mapped_column(Integer)
    loosenings: Mapped[list[str] | None] = mapped_column(JsonDoc)
    approved_by: Mapped[str | None] = mapped_column(String(200))
    approved_by_user_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    approved_at: Mapped[datetime | None] = mapped_column(Timestamp)
    rejected_by: Mapped[str | None] = mapped_column(String(200))
    rejected_by_user_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    rejected_at: Mapped[datetime | None] = mapped_column(Timestamp)


class ApiKey(Base):
    """A service credential. Only a SHA-256 of the key is stored: keys are long random strings, so a fast
    hash is as safe as a slow one here, and every request can afford to check it."""

    __tablename__ = "api_keys"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    # The person the key acts for: every credential is one user id, so "not the same person" checks cannot be
    # dodged by signing in one way and approving another. Keys made before users existed have none: refused.
    user_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"), index=True)
    owner: Mapped[str] = mapped_column(String(200))
    roles: Mapped[list[str]] = mapped_column(JsonDoc, default=list)
    key_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(Timestamp)


class ApprovalStatus(enum.StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"
    EXPIRED = "expired"
    CANCELLED = "cancelled"


class ApprovalRequest(Base):
    """Policy asked people to approve an invoice: who may, how many must, and by when.

    The approvers are copied from the policy version that asked, so publishing a new policy never
    changes who may approve an invoice already waiting. The thread's resume is recorded here
    (`resumed_at`, then `closed_at` when the thread has finished) so it is consumed once.
    """

    __tablename__ = "approval_requests"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    # One request per invoice: a re-run of the thread finds it instead of asking twice.
    invoice_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("invoices.id"), unique=True)
    policy_version: Mapped[int] = mapped_column(Integer)
    tier: Mapped[str] = mapped_column(String(100))
    approver_group: Mapped[str] = mapped_column(String(100))
    # Case-folded identities (e-mail addresses); the submitter is left out unless the tier allows it.
    approvers: Mapped[list[str]] = mapped_column(JsonDoc, default=list)
    quorum: Mapped[int] = mapped_column(Integer)
    rejections_to_close: Mapped[int] = mapped_column(Integer, default=1)
    escalation_group: Mapped[str | None] = mapped_column(String(100))
    submitted_by: Mapped[str | None] = mapped_column(String(200))
    # Users who may not approve: the submitter, and whoever vouched for the payee (see `Vendor.payee_vouched_by`).
    excluded_user_ids: Mapped[list[str]] = mapped_column(JsonDoc, default=list)
    reasons: Mapped[list[str]] = mapped_column(JsonDoc, default=list)
    status: Mapped[ApprovalStatus] = mapped_column(String(16), default=ApprovalStatus.PENDING, index=True)
    deadline: Mapped[datetime] = mapped_column(Timestamp, index=True)
    remind_at: Mapped[datetime | None] = mapped_column(Timestamp)
    reminded_at: Mapped[datetime | None] = mapped_column(Timestamp)
    escalated_at: Mapped[datetime | None] = mapped_column(Timestamp)
    created_at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow)
    decided_at: Mapped[datetime | None] = mapped_column(Timestamp)
    decided_by: Mapped[str | None] = mapped_column(String(200))
    outcome_reason: Mapped[str | None] = mapped_column(Text)
    resumed_at: Mapped[datetime | None] = mapped_column(Timestamp)
    resume_lease_until: Mapped[datetime | None] = mapped_column(Timestamp)
    resume_count: Mapped[int] = mapped_column(Integer, default=0)
    closed_at: Mapped[datetime | None] = mapped_column(Timestamp)


class ApprovalVote(Base):
    """One person's approve or reject. The unique pair is what makes a second vote (a double click, a
    replayed link, two tabs) impossible, whatever the requests race; the unique token id makes each
    e-mailed link single-use."""

    __tablename__ = "approval_votes"
    __table_args__ = (UniqueConstraint("request_id", "approver"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    request_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("approval_requests.id"), index=True)
    approver: Mapped[str] = mapped_column(String(200))
    approver_user_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    decision: Mapped[str] = mapped_column(String(8))  # approve | reject
    comment: Mapped[str | None] = mapped_column(Text)
    channel: Mapped[str] = mapped_column(String(16))  # link | api
    token_id: Mapped[str | None] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow)


class NotificationStatus(enum.StrEnum):
    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"  # refused for good (a bad address)
    SKIPPED = "skipped"  # no longer relevant: the request closed before the mail went out


class ApprovalNotification(Base):
    """An e-mail owed to someone about a request. Written in the transaction that makes it owed (an
    outbox), sent later by whichever worker takes it; the unique triple makes sending idempotent."""

    __tablename__ = "approval_notifications"
    __table_args__ = (UniqueConstraint("request_id", "recipient", "kind"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    request_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("approval_requests.id"), index=True)
    recipient: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(16))  # request | reminder | escalation | expired | rejected | cancelled
    status: Mapped[NotificationStatus] = mapped_column(String(16), default=NotificationStatus.PENDING, index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(Timestamp)


class User(Base):
    """A person who signs in: the CFO who submits, approvers, ops, auditors, admins. Only an argon2 hash of
    the password is kept. There is no default user: `treasurer users create --role admin` makes the first."""

    __tablename__ = "users"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    # Case-folded: the identity approvers are listed under in policies and votes are recorded with.
    email: Mapped[str] = mapped_column(String(200), unique=True)
    password_hash: Mapped[str] = mapped_column(String(200))
    roles: Mapped[list[str]] = mapped_column(JsonDoc, default=list)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # Bumped when the user is deactivated or a stolen refresh token is detected: access tokens carry the
    # version they were issued under, and an older one stops working at once.
    token_version: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow)
    created_by: Mapped[str | None] = mapped_column(String(200))
    last_login_at: Mapped[datetime | None] = mapped_column(Timestamp)


class RefreshToken(Base):
    """A refresh token, stored as a SHA-256 (it is a long random string). Each use replaces it with a new one;
    presenting a replaced token again means it was copied, so the whole family is revoked."""

    __tablename__ = "refresh_tokens"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"), index=True)
    family: Mapped[uuid.UUID] = mapped_column(Uuid, index=True)
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    expires_at: Mapped[datetime] = mapped_column(Timestamp)
    created_at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow)
    used_at: Mapped[datetime | None] = mapped_column(Timestamp)
    revoked_at: Mapped[datetime | None] = mapped_column(Timestamp)


class IdempotentResponse(Base):
    """The first answer to a request sent with an `Idempotency-Key`: a retry gets it again instead of
    submitting the invoice twice; the same key with another body is refused."""

    __tablename__ = "idempotent_responses"
    __table_args__ = (UniqueConstraint("principal", "key"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    principal: Mapped[str] = mapped_column(String(200))
    key: Mapped[str] = mapped_column(String(200))
    request_sha256: Mapped[str] = mapped_column(String(64))
    status_code: Mapped[int | None] = mapped_column(Integer)
    body: Mapped[dict[str, Any] | None] = mapped_column(JsonDoc)
    created_at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow)
