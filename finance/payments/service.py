"""The payment steps, each its own unit of work and each idempotent by payment id.

A LangGraph node re-runs after a crash or a resume, so every step first looks at what is already
stored and continues from there: `reserve` returns the existing payment, `sign` the existing live
attempt, `broadcast` re-sends the same signed bytes (same hash, same nonce, so never a second
payment), and `confirm` reads the receipt again. The order of commits is what makes this exactly
once: the payment intent is committed before anything is signed, and the signed transaction with
its hash is committed before it is broadcast.
"""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from finance.chain.client import ChainClient, Receipt, SignedTransfer
from finance.decisions import DecisionLog
from finance.errors import NotFound, PaymentRejected, TreasurerError
from finance.models import AttemptStatus, Payment, PaymentAttempt, PaymentStatus, Vendor, as_utc, utcnow
from finance.payments.fees import bump_fee as _bump
from finance.payments.nonce_gaps import unblock_nonces
from finance.payments.nonces import allocate_nonce
from finance.payments.repository import PaymentRepository
from finance.vendor_changes import hold_reason


class DuplicatePayment(TreasurerError):
    status_code = 409
    code = "duplicate_payment"


@dataclass(frozen=True)
class TokenInfo:
    address: str
    symbol: str
    decimals: int


@dataclass(frozen=True)
class PaymentOutcome:
    payment_id: uuid.UUID
    status: PaymentStatus
    tx_hash: str | None
    reason: str | None


class PaymentService:
    def __init__(self, sessions: async_sessionmaker[AsyncSession], chain: ChainClient, token: TokenInfo) -> None:
        self.sessions = sessions
        self.chain = chain
        self.token = token

    async def reserve(
        self, *, invoice_id: uuid.UUID, vendor_id: uuid.UUID, amount_units: int, dedupe_key: str
    ) -> uuid.UUID:
        """Record the intent to pay (this reserves the funds) and the decision behind it."""
        if amount_units <= 0:
            raise PaymentRejected(f"refusing to pay a non-positive amount ({amount_units} base units)")
        try:
            async with self.sessions.begin() as session:
                repo = PaymentRepository(session)
                existing = await repo.for_invoice(invoice_id)
                if existing is not None:
                    return existing.id
                earlier = await repo.by_dedupe_key(dedupe_key)
                if earlier is not None:
                    raise DuplicatePayment(f"this bill is already paid or being paid by payment {earlier.id}")
                vendor = await session.get(Vendor, vendor_id)
                if vendor is None or not vendor.active:
                    raise PaymentRejected("the vendor is not an active registered vendor")
                held = await hold_reason(session, vendor)
                if held is not None:
                    # Policy routes such invoices to approval; this is the last line if one slipped through.
                    raise PaymentRejected(f"payments to {vendor.name} are held: {held}")
                payment = Payment(
                    invoice_id=invoice_id,
                    dedupe_key=dedupe_key,
                    vendor_id=vendor.id,
                    # The payee comes from the registry, never from the invoice or the model.
                    payee_address=vendor.payout_address,
                    amount_units=amount_units,
                    chain_id=self.chain.chain_id,
                    token_address=self.token.address,
                    status=PaymentStatus.PENDING,
                )
                session.add(payment)
                await session.flush()
                await DecisionLog(session).append(
                    invoice_id=invoice_id,
                    step="pay",
                    outcome="authorized",
                    reason=f"pay {amount_units} base units of {self.token.symbol} to the registered address",
                    details={
                        "payment_id": payment.id,
                        "payee_address": payment.payee_address,
                        "amount_units": str(amount_units),
                        "token": self.token.address,
                        "chain_id": self.chain.chain_id,
                    },
                )
                return payment.id
        except IntegrityError as exc:
            # Lost a race: another submission of the same bill (or a re-run of this node) committed first.
            async with self.sessions() as session:
                repo = PaymentRepository(session)
                existing = await repo.for_invoice(invoice_id)
                if existing is not None:
                    return existing.id
                earlier = await repo.by_dedupe_key(dedupe_key)
            raise DuplicatePayment(
                f"this bill is already paid or being paid by payment {earlier.id if earlier else '?'}"
            ) from exc

    async def sign(self, payment_id: uuid.UUID) -> PaymentOutcome:
        """Allocate a nonce, sign, and store the attempt with its hash. Nothing is sent yet."""
        try:
            async with self.sessions.begin() as session:
                payment = await self._locked_payment(session, payment_id)
                if payment.status in (PaymentStatus.CONFIRMED, PaymentStatus.FAILED):
                    return _outcome(payment)
                if await PaymentRepository(session).live_attempt(payment.id) is not None:
                    return _outcome(payment)
                estimate = await self.chain.estimate_transfer_gas(
                    self.token.address, payment.payee_address, payment.amount_units
                )
                # Headroom: if the payee empties its balance before we are mined, crediting it costs a
                # fresh storage slot (~17k more gas). Only gas used is paid, so the margin costs nothing.
                gas = estimate * 13 // 10
                max_fee, priority = await self.chain.fee_quote()
                chain_pending = await self.chain.pending_nonce()
                nonce = await allocate_nonce(
                    session,
                    chain_id=self.chain.chain_id,
                    address=self.chain.treasury_address,
                    chain_pending=chain_pending,
                )
                signed = await self.chain.sign_transfer(
                    self.token.address,
                    payment.payee_address,
                    payment.amount_units,
                    nonce=nonce,
                    gas_limit=gas,
                    max_fee=max_fee,
                    priority_fee=priority,
                )
                session.add(_signed_attempt(payment.id, 1, self.chain.treasury_address, signed))
                payment.status = PaymentStatus.SUBMITTED
                payment.tx_hash = signed.tx_hash
                return _outcome(payment)
        except PaymentRejected as exc:
            return await self.fail(payment_id, exc.message)

    async def broadcast(self, payment_id: uuid.UUID) -> PaymentOutcome:
        async with self.sessions() as session:
            payment = await self._payment(session, payment_id)
            attempt = await PaymentRepository(session).live_attempt(payment_id)
            if payment.status != PaymentStatus.SUBMITTED or attempt is None or attempt.status == AttemptStatus.MINED:
                return _outcome(payment)
            raw_tx, tx_hash, is_replacement = attempt.raw_tx, attempt.tx_hash, attempt.attempt_no > 1
        try:
            await self.chain.broadcast(raw_tx, tx_hash)
        except PaymentRejected as exc:
            if not is_replacement:
                return await self.fail(payment_id, exc.message)
            # A refused replacement ("underpriced", a full pool) proves nothing about the attempts before
            # it, which may still be mined: failing the payment here could let the bill be paid twice.
            async with self.sessions.begin() as session:
                attempt = await session.scalar(select(PaymentAttempt).where(PaymentAttempt.tx_hash == tx_hash))
                attempt.status = AttemptStatus.FAILED
                attempt.error = exc.message
                return _outcome(await self._payment(session, payment_id))
        async with self.sessions.begin() as session:
            attempt = await session.scalar(select(PaymentAttempt).where(PaymentAttempt.tx_hash == tx_hash))
            if attempt.status == AttemptStatus.SIGNED:
                attempt.status = AttemptStatus.BROADCAST
            return _outcome(await self._payment(session, payment_id))

    async def confirm(self, payment_id: uuid.UUID) -> PaymentOutcome:
        """Watch every attempt of the payment until one is mined with enough confirmations; replace the
        newest when it is stuck; settle only on status 1 with a matching Transfer. Returns SUBMITTED
        (still in flight, still reserved) when nothing is mined within the receipt timeout."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.chain.settings.receipt_timeout_seconds
        delay = 0.005
        while True:
            async with self.sessions() as session:
                payment = await self._payment(session, payment_id)
                if payment.status != PaymentStatus.SUBMITTED:
                    return _outcome(payment)
                attempts = await PaymentRepository(session).pending_attempts(payment_id)
                payee, amount = payment.payee_address, payment.amount_units
            if not attempts:
                return _outcome(payment)
            for attempt in attempts:
                receipt = await self.chain.confirmed_receipt(attempt.tx_hash)
                if receipt is not None:
                    return await self._conclude(payment_id, attempt.tx_hash, receipt, payee, amount)
            newest = attempts[-1]
            if _age_seconds(newest.created_at) >= self.chain.settings.stuck_after_seconds:
                if newest.nonce > await self.chain.pending_nonce():
                    # Queued behind a lower nonce the node lacks (a worker died holding it): fees cannot
                    # help; sending the stored attempt or filling the gap does.
                    await unblock_nonces(self.sessions, self.chain)
                else:
                    await self.replace_stuck(payment_id)
            if loop.time() >= deadline:
                return PaymentOutcome(
                    payment_id, PaymentStatus.SUBMITTED, newest.tx_hash, "awaiting confirmation on chain"
                )
            await asyncio.sleep(delay)
            delay = min(delay * 2, 1.0)

    async def replace_stuck(self, payment_id: uuid.UUID) -> PaymentOutcome:
        """Re-sign the newest attempt with the same nonce and fees bumped, as a new attempt, and send it.
        Whichever of the attempts is mined wins; the nonce guarantees at most one of them can be."""
        settings = self.chain.settings
        async with self.sessions.begin() as session:
            payment = await self._locked_payment(session, payment_id)
            attempts = await PaymentRepository(session).pending_attempts(payment_id)
            if payment.status != PaymentStatus.SUBMITTED or not attempts:
                return _outcome(payment)
            newest = attempts[-1]
            if _age_seconds(newest.created_at) < settings.stuck_after_seconds:
                return _outcome(payment)  # another worker replaced it a moment ago
            quote_max, quote_priority = await self.chain.fee_quote()
            priority = max(quote_priority, _bump(newest.max_priority_fee_per_gas, settings.fee_bump_percent))
            max_fee = max(quote_max, _bump(newest.max_fee_per_gas, settings.fee_bump_percent), priority)
            if max_fee > settings.max_fee_per_gas_cap_wei:
                # Past the cap the payment waits rather than overpays; an operator can raise the cap.
                return PaymentOutcome(payment.id, payment.status, payment.tx_hash, "fee cap reached; waiting")
            signed = await self.chain.sign_transfer(
                self.token.address,
                payment.payee_address,
                payment.amount_units,
                nonce=newest.nonce,
                gas_limit=newest.gas_limit,
                max_fee=max_fee,
                priority_fee=priority,
            )
            session.add(_signed_attempt(payment.id, newest.attempt_no + 1, newest.from_address, signed))
            payment.tx_hash = signed.tx_hash
        # Stored first, sent second, like every attempt.
        return await self.broadcast(payment_id)

    async def _conclude(self, payment_id: uuid.UUID, tx_hash: str, receipt: Receipt, payee: str, amount: int):
        if receipt.status != 1:
            return await self.fail(
                payment_id, f"transaction {tx_hash} reverted on chain in block {receipt.block_number}", receipt=receipt,
                tx_hash=tx_hash,
            )  # fmt: skip
        matching = [
            e
            for e in self.chain.transfer_events(self.token.address, receipt)
            if e.sender == self.chain.treasury_address and e.receiver == payee and e.value == amount
        ]
        if not matching:
            return await self.fail(
                payment_id, f"receipt of {tx_hash} has no Transfer of {amount} base units to {payee}", receipt=receipt,
                tx_hash=tx_hash,
            )  # fmt: skip
        async with self.sessions.begin() as session:
            payment = await self._locked_payment(session, payment_id)
            if payment.status != PaymentStatus.SUBMITTED:
                return _outcome(payment)
            for attempt in await PaymentRepository(session).pending_attempts(payment_id):
                # The nonce is spent: every other attempt can never be mined now.
                attempt.status = AttemptStatus.MINED if attempt.tx_hash == tx_hash else AttemptStatus.REPLACED
                if attempt.tx_hash == tx_hash:
                    attempt.block_number = receipt.block_number
                    attempt.gas_used = receipt.gas_used
            payment.status = PaymentStatus.CONFIRMED
            payment.tx_hash = tx_hash
            payment.settled_at = utcnow()
            await DecisionLog(session).append(
                invoice_id=payment.invoice_id,
                step="pay",
                outcome="confirmed",
                reason=f"{self.chain.settings.confirmations} confirmation(s), status 1, Transfer event matched",
                details={
                    "payment_id": payment.id,
                    "tx_hash": tx_hash,
                    "block_number": receipt.block_number,
                    "gas_used": receipt.gas_used,
                    "amount_units": str(amount),
                    "payee_address": payee,
                },
            )
            return _outcome(payment)

    async def fail(
        self, payment_id: uuid.UUID, reason: str, *, receipt: Receipt | None = None, tx_hash: str | None = None
    ) -> PaymentOutcome:
        """Compensation: mark the payment failed, which releases its reservation, and record why."""
        async with self.sessions.begin() as session:
            payment = await self._locked_payment(session, payment_id)
            if payment.status in (PaymentStatus.CONFIRMED, PaymentStatus.FAILED):
                return _outcome(payment)
            for attempt in await PaymentRepository(session).pending_attempts(payment_id):
                if tx_hash is None or attempt.tx_hash == tx_hash:
                    attempt.status = AttemptStatus.FAILED
                    attempt.error = reason
                    if receipt is not None:
                        attempt.block_number = receipt.block_number
                        attempt.gas_used = receipt.gas_used
                else:
                    attempt.status = AttemptStatus.REPLACED  # its nonce went to the failed one
            payment.status = PaymentStatus.FAILED
            payment.failure_reason = reason
            # Nothing was paid, so the bill may be paid by a later, corrected submission: free its key.
            payment.dedupe_key = f"{payment.dedupe_key}#failed:{payment.id}"
            await DecisionLog(session).append(
                invoice_id=payment.invoice_id,
                step="pay",
                outcome="failed",
                reason=reason,
                details={"payment_id": payment.id, "tx_hash": tx_hash},
            )
            return _outcome(payment)

    async def _payment(self, session: AsyncSession, payment_id: uuid.UUID) -> Payment:
        payment = await session.get(Payment, payment_id)
        if payment is None:
            raise NotFound(f"no payment {payment_id}")
        return payment

    async def _locked_payment(self, session: AsyncSession, payment_id: uuid.UUID) -> Payment:
        # FOR UPDATE: two runs of the same step (a resumed node beside a stale one) must take turns,
        # or both could see "no attempt yet" and sign two transactions for one payment.
        payment = await session.scalar(
            select(Payment).where(Payment.id == payment_id).with_for_update().execution_options(populate_existing=True)
        )
        if payment is None:
            raise NotFound(f"no payment {payment_id}")
        return payment


def _signed_attempt(
    payment_id: uuid.UUID, attempt_no: int, from_address: str, signed: SignedTransfer
) -> PaymentAttempt:
    return PaymentAttempt(
        payment_id=payment_id,
        attempt_no=attempt_no,
        from_address=from_address,
        nonce=signed.nonce,
        tx_hash=signed.tx_hash,
        raw_tx=signed.raw_tx,
        gas_limit=signed.gas_limit,
        max_fee_per_gas=signed.max_fee_per_gas,
        max_priority_fee_per_gas=signed.max_priority_fee_per_gas,
        status=AttemptStatus.SIGNED,
    )


def _age_seconds(moment: datetime) -> float:
    return (utcnow() - as_utc(moment)).total_seconds()


def _outcome(payment: Payment) -> PaymentOutcome:
    return PaymentOutcome(payment.id, payment.status, payment.tx_hash, payment.failure_reason)
