"""The approval wait on real PostgreSQL, Redis and anvil: the thread waits in `interrupt()`, people vote,
and the payment follows exactly once; or it ends unpaid (rejected, expired, cancelled). Time moves by
passing `now`, never by sleeping."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta
from decimal import Decimal

import pytest
from redis.asyncio import Redis
from sqlalchemy import select

from agents.approvals.dispatch import announce
from agents.approvals.scheduler import tick
from api.approvals.service import cancel_request, vote
from finance.approvals.errors import AlreadyVoted, ApprovalClosed, NotAnApprover
from finance.decisions import DecisionLog
from finance.models import ApprovalStatus, InvoiceClaim, InvoiceStatus, utcnow
from finance.settings import Settings
from policies.document import ApprovalTier
from tests.fixtures.approvals import (
    approval_for,
    confirmed_payments,
    globex_invoice,
    notifications_for,
    publish_policy,
    two_of_three_policy_tiers,
)

pytestmark = pytest.mark.asyncio


async def _pending(treasurer, amount: str = "12000", submitted_by: str = "cfo@example.com"):
    invoice_id = await treasurer.submit(globex_invoice(f"GX-{uuid.uuid4().hex[:6]}", Decimal(amount)), submitted_by)
    result = await treasurer.process(invoice_id)
    assert result.status == InvoiceStatus.PENDING_APPROVAL, result
    request = await approval_for(treasurer, invoice_id)
    assert request is not None and request.status == ApprovalStatus.PENDING
    return invoice_id, request


async def test_over_limit_invoice_waits_in_an_interrupt_then_pays_once_approved(treasurer, settings: Settings) -> None:
    invoice_id, request = await _pending(treasurer)
    # The submitter (cfo@) is left out: only the controller may approve, and one approval is the quorum.
    assert request.approvers == ["controller@example.com"] and request.quorum == 1
    snapshot = await treasurer.graph.aget_state({"configurable": {"thread_id": f"invoice:{invoice_id}"}})
    assert snapshot.interrupts and snapshot.next == ("await_approval",)

    # The request mail is owed in PostgreSQL; the graph queued the new request's id, and a worker's announce
    # fans it out into the mail's id and the request's timer.
    [mail] = await notifications_for(treasurer, request.id)
    assert (mail.recipient, mail.kind, mail.status) == ("controller@example.com", "request", "pending")
    queue = treasurer.approval_queue
    await queue.ensure_groups()  # what a starting worker does; the group reads the stream from its start
    assert [e.item_id for e in await queue.requests.read("test", block_ms=10)] == [request.id]
    assert await announce(treasurer.sessions, treasurer.approvals, request.id) == 1
    assert await queue.redis.xlen(queue.notify.stream) == 1
    assert await queue.redis.zscore(queue.timers_key, str(request.id)) is not None

    # Processing the invoice again (a redelivered intake entry) neither asks twice nor pays.
    again = await treasurer.process(invoice_id)
    assert again.status == InvoiceStatus.PENDING_APPROVAL
    assert len(await notifications_for(treasurer, request.id)) == 1

    outcome = await vote(treasurer, request.id, "Controller@Example.com", "approve", channel="api")
    assert outcome.closed and outcome.request.status == ApprovalStatus.APPROVED
    assert await queue.redis.xlen(queue.ready.stream) == 1

    result = await treasurer.resume_approval(request.id)
    assert result.status == InvoiceStatus.PAID and result.tx_hash
    assert len(await confirmed_payments(treasurer, invoice_id)) == 1
    # The resume is consumed: a second delivery of the same entry does nothing.
    assert await treasurer.resume_approval(request.id) is None
    assert (await approval_for(treasurer, invoice_id)).closed_at is not None

    async with treasurer.sessions() as session:
        trail = [(d.step, d.outcome, d.actor) for d in await DecisionLog(session).for_invoice(invoice_id)]
    assert ("approval", "requested", "treasurer") in trail
    assert ("approval", "approve", "controller@example.com") in trail
    assert ("approval", "approved", "controller@example.com") in trail
    assert trail[-1][:2] == ("record", "paid")


async def test_the_submitter_never_approves_their_own_invoice(treasurer) -> None:
    _, request = await _pending(treasurer, submitted_by="CFO@example.com")
    with pytest.raises(NotAnApprover):
        await vote(treasurer, request.id, "cfo@example.com", "approve", channel="api")


async def test_a_policy_that_leaves_nobody_to_approve_blocks_instead_of_waiting_forever(treasurer) -> None:
    solo = ApprovalTier(id="solo", min_amount=Decimal(0), group="solo", quorum=1)
    await publish_policy(treasurer, tiers=[solo], groups={"solo": ["cfo@example.com"]})
    invoice_id = await treasurer.submit(globex_invoice("GX-SOLO", Decimal("9000")), "cfo@example.com")
    result = await treasurer.process(invoice_id)
    assert result.status == InvoiceStatus.BLOCKED
    assert "other than the submitter" in result.reason
    assert await approval_for(treasurer, invoice_id) is None


async def test_one_rejection_closes_the_request_unpaid_and_frees_the_bill(treasurer) -> None:
    invoice_id, request = await _pending(treasurer)
    outcome = await vote(treasurer, request.id, "controller@example.com", "reject", channel="api", comment="no PO")
    assert outcome.closed and outcome.request.status == ApprovalStatus.REJECTED
    result = await treasurer.resume_approval(request.id)
    assert result.status == InvoiceStatus.REJECTED
    assert await confirmed_payments(treasurer, invoice_id) == []
    async with treasurer.sessions() as session:
        claims = await session.scalars(select(InvoiceClaim).where(InvoiceClaim.invoice_id == invoice_id))
        assert claims.all() == [], "a rejected bill may be submitted again"
    # The submitter hears of it by mail.
    mails = {(m.recipient, m.kind) for m in await notifications_for(treasurer, request.id)}
    assert ("cfo@example.com", "rejected") in mails
    with pytest.raises(ApprovalClosed):
        await vote(treasurer, request.id, "controller@example.com", "approve", channel="api")


async def test_two_approvers_racing_to_the_quorum_close_it_once_and_pay_once(treasurer) -> None:
    tiers, groups = two_of_three_policy_tiers()
    await publish_policy(treasurer, tiers=tiers, groups=groups)
    invoice_id, request = await _pending(treasurer, amount="7000", submitted_by="ap@example.com")
    assert request.quorum == 2 and len(request.approvers) == 3

    voters = ["alice@example.com", "bob@example.com", "carol@example.com"] * 4
    results = await asyncio.gather(
        *(vote(treasurer, request.id, who, "approve", channel="api") for who in voters), return_exceptions=True
    )
    accepted = [r for r in results if not isinstance(r, Exception)]
    refused = [r for r in results if isinstance(r, Exception)]
    assert all(isinstance(r, (AlreadyVoted, ApprovalClosed)) for r in refused), refused
    assert len(accepted) == 2, "exactly the quorum's votes are accepted"
    assert sum(1 for r in accepted if r.closed) == 1, "exactly one vote closes the request"

    resumed = await asyncio.gather(*(treasurer.resume_approval(request.id) for _ in range(10)))
    assert sum(1 for r in resumed if r is not None) == 1
    assert len(await confirmed_payments(treasurer, invoice_id)) == 1


async def test_reminder_escalation_and_expiry_follow_the_clock(treasurer, settings: Settings) -> None:
    tiers, groups = two_of_three_policy_tiers()
    await publish_policy(treasurer, tiers=tiers, groups=groups)
    invoice_id, request = await _pending(treasurer, amount="7000", submitted_by="ap@example.com")
    await vote(treasurer, request.id, "alice@example.com", "approve", channel="api")
    start = request.created_at if request.created_at.tzinfo else request.created_at.replace(tzinfo=utcnow().tzinfo)
    queue = treasurer.approval_queue

    # Before the reminder time nothing happens.
    report = await tick(treasurer.sessions, treasurer.approvals, queue, now=start + timedelta(hours=1))
    assert [r.action for r in report.handled] == []

    # 24 h before the 72 h deadline: those who have not voted are reminded, and the directors are asked.
    at_reminder = start + timedelta(
        hours=settings.approval_ttl_hours - settings.approval_reminder_before_hours, minutes=1
    )
    report = await tick(treasurer.sessions, treasurer.approvals, queue, now=at_reminder)
    assert [r.action for r in report.handled] == ["reminded"]
    mails = {(m.recipient, m.kind) for m in await notifications_for(treasurer, request.id)}
    assert {("bob@example.com", "reminder"), ("carol@example.com", "reminder")} <= mails
    assert ("alice@example.com", "reminder") not in mails
    assert ("dave@example.com", "escalation") in mails
    assert "dave@example.com" in (await approval_for(treasurer, invoice_id)).approvers
    # A second tick at the same time reminds nobody twice.
    report = await tick(treasurer.sessions, treasurer.approvals, queue, now=at_reminder)
    assert [r.action for r in report.handled if r.action] == []

    # Past the deadline the request expires, the submitter is told, and the thread ends unpaid.
    report = await tick(treasurer.sessions, treasurer.approvals, queue, now=start + timedelta(hours=72, seconds=1))
    assert [r.action for r in report.handled] == ["expired"]
    assert ("ap@example.com", "expired") in {
        (m.recipient, m.kind) for m in await notifications_for(treasurer, request.id)
    }
    assert await queue.redis.zscore(queue.timers_key, str(request.id)) is None
    result = await treasurer.resume_approval(request.id)
    assert result.status == InvoiceStatus.EXPIRED
    assert await confirmed_payments(treasurer, invoice_id) == []
    with pytest.raises(ApprovalClosed):
        await vote(treasurer, request.id, "bob@example.com", "approve", channel="api")


async def test_the_submitter_or_an_admin_may_cancel(treasurer) -> None:
    invoice_id, request = await _pending(treasurer)
    with pytest.raises(NotAnApprover):
        await cancel_request(treasurer, request.id, "controller@example.com", is_admin=False, reason=None)
    await cancel_request(treasurer, request.id, "cfo@example.com", is_admin=False, reason="sent twice")
    result = await treasurer.resume_approval(request.id)
    assert result.status == InvoiceStatus.CANCELLED
    assert await confirmed_payments(treasurer, invoice_id) == []


async def test_redis_flushed_while_waiting_is_rebuilt_from_postgres(treasurer, settings: Settings) -> None:
    invoice_id, request = await _pending(treasurer)
    await vote(treasurer, request.id, "controller@example.com", "approve", channel="api")
    redis = Redis.from_url(settings.redis_url)
    await redis.flushdb()
    await redis.aclose()

    queue = treasurer.approval_queue
    assert await queue.ensure_groups() is True  # the groups were gone: Redis lost the queue
    report = await queue.rebuild(treasurer.sessions, utcnow())
    assert (report.notifications, report.resumes) == (1, 1)
    entries = await queue.ready.read("test-consumer", count=10, block_ms=10)
    assert [e.item_id for e in entries] == [request.id]
    result = await treasurer.resume_approval(request.id)
    assert result.status == InvoiceStatus.PAID
    assert len(await confirmed_payments(treasurer, invoice_id)) == 1


async def test_two_runs_of_one_thread_racing_open_one_request_and_owe_one_mail(treasurer) -> None:
    invoice_id = await treasurer.submit(globex_invoice("GX-RACE-1", Decimal("8000")), "cfo@example.com")
    results = await asyncio.gather(treasurer.process(invoice_id), treasurer.process(invoice_id))
    assert {r.status for r in results} == {InvoiceStatus.PENDING_APPROVAL}
    request = await approval_for(treasurer, invoice_id)
    assert len(await notifications_for(treasurer, request.id)) == 1
