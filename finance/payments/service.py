"""The payment steps, each its own unit of work and each idempotent by payment id.

A LangGraph node re-runs after a crash or a resume, so every step first looks at what is already
stored and continues from there: `reserve` returns the existing payment, `sign` the existing live
attempt, `broadcast` re-sends the same signed bytes (same hash, same nonce, so never a second
payment), and `confirm` reads the receipt again. The order of commits is what makes this exactly
once: the payment intent is committed before anything is signed, and the signed transaction with
its hash is committed before it is broadcast.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from finance.chain.client import ChainClient, Receipt
from finance.decisions import DecisionLog
from finance.errors import NotFound, PaymentRejected, TreasurerError
from finance.models import AttemptStatus, Payment, PaymentAttempt, PaymentStatus, Vendor, utcnow
from finance.payments.nonces import allocate_nonce
from finance.payments.repository import PaymentRepository
from finance.payouts import hold_reason


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
                held = await hold_reason(session, vendor.id)
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
                session.add(
                    PaymentAttempt(
                        payment_id=payment.id,
                        attempt_no=1,
                        from_address=self.chain.treasury_address,
                        nonce=nonce,
                        tx_hash=signed.tx_hash,
                        raw_tx=signed.raw_tx,
                        gas_limit=gas,
                        max_fee_per_gas=max_fee,
                        max_priority_fee_per_gas=priority,
                        status=AttemptStatus.SIGNED,
                    )
                )
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
            raw_tx, tx_hash = attempt.raw_tx, attempt.tx_hash
        try:
            await self.chain.broadcast(raw_tx, tx_hash)
        except PaymentRejected as exc:
            return await self.fail(payment_id, exc.message)
        async with self.sessions.begin() as session:
            attempt = await session.scalar(select(PaymentAttempt).where(PaymentAttempt.tx_hash == tx_hash))
            if attempt.status == AttemptStatus.SIGNED:
                attempt.status = AttemptStatus.BROADCAST
            return _outcome(await self._payment(session, payment_id))

    async def confirm(self, payment_id: uuid.UUID) -> PaymentOutcome:
        """Wait for the receipt; settle only on status 1, enough confirmations and a matching Transfer."""
        async with self.sessions() as session:
            payment = await self._payment(session, payment_id)
            attempt = await PaymentRepository(session).live_attempt(payment_id)
            if payment.status != PaymentStatus.SUBMITTED or attempt is None:
                return _outcome(payment)
            tx_hash = attempt.tx_hash
            payee, amount = payment.payee_address, payment.amount_units
        receipt = await self.chain.wait_for_confirmed_receipt(tx_hash)
        if receipt is None:
            # Not mined in time: the payment stays in flight, reserved, for the reconciler.
            return PaymentOutcome(payment_id, PaymentStatus.SUBMITTED, tx_hash, "awaiting confirmation on chain")
        if receipt.status != 1:
            return await self.fail(
                payment_id,
                f"transaction {tx_hash} reverted on chain in block {receipt.block_number}",
                receipt=receipt,
            )
        matching = [
            e
            for e in self.chain.transfer_events(self.token.address, receipt)
            if e.sender == self.chain.treasury_address and e.receiver == payee and e.value == amount
        ]
        if not matching:
            return await self.fail(
                payment_id, f"receipt of {tx_hash} has no Transfer of {amount} base units to {payee}", receipt=receipt
            )
        async with self.sessions.begin() as session:
            payment = await self._locked_payment(session, payment_id)
            if payment.status != PaymentStatus.SUBMITTED:
                return _outcome(payment)
            attempt = await session.scalar(select(PaymentAttempt).where(PaymentAttempt.tx_hash == tx_hash))
            attempt.status = AttemptStatus.MINED
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

    async def fail(self, payment_id: uuid.UUID, reason: str, *, receipt: Receipt | None = None) -> PaymentOutcome:
        """Compensation: mark the payment failed, which releases its reservation, and record why."""
        async with self.sessions.begin() as session:
            payment = await self._locked_payment(session, payment_id)
            if payment.status in (PaymentStatus.CONFIRMED, PaymentStatus.FAILED):
                return _outcome(payment)
            attempt = await PaymentRepository(session).live_attempt(payment_id)
            if attempt is not None:
                attempt.status = AttemptStatus.FAILED
                attempt.error = reason
                if receipt is not None:
                    attempt.block_number = receipt.block_number
                    attempt.gas_used = receipt.gas_used
            payment.status = PaymentStatus.FAILED
            payment.failure_reason = reason
            await DecisionLog(session).append(
                invoice_id=payment.invoice_id,
                step="pay",
                outcome="failed",
                reason=reason,
                details={"payment_id": payment.id, "tx_hash": attempt.tx_hash if attempt else None},
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


def _outcome(payment: Payment) -> PaymentOutcome:
    return PaymentOutcome(payment.id, payment.status, payment.tx_hash, payment.failure_reason)
