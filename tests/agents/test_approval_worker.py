"""The approval wait across process deaths: a real `treasurer worker` process takes the invoice to its
interrupt and mails the approver; it is SIGKILLed while the thread waits, Redis is flushed, the approver
votes, and a new worker rebuilds the queues from PostgreSQL and pays exactly once."""

from __future__ import annotations

import asyncio
import signal
import sys
import uuid
from collections.abc import Awaitable, Callable
from decimal import Decimal
from pathlib import Path

import pytest
from eth_utils import keccak
from redis.asyncio import Redis

from api.approvals.service import vote
from api.demo import sample_vendors
from finance.models import ApprovalStatus, InvoiceStatus, NotificationStatus
from finance.settings import Settings
from finance.streams import InvoiceIntake
from tests.fixtures.approvals import approval_for, confirmed_payments, globex_invoice, notifications_for
from tests.fixtures.smtp import SmtpServer
from tests.harness.environment import child_env

pytestmark = pytest.mark.asyncio

REPO_ROOT = Path(__file__).resolve().parents[2]
TRANSFER_TOPIC = "0x" + keccak(text="Transfer(address,address,uint256)").hex()
WAIT_SECONDS = 90


def _worker_env(settings: Settings, smtp: SmtpServer) -> dict[str, str]:
    return child_env(
        settings,
        TREASURER_SMTP_HOST=smtp.host,
        TREASURER_SMTP_PORT=str(smtp.port),
        TREASURER_SMTP_SECURITY="none",
        TREASURER_APPROVAL_TICK_SECONDS="1",
    )


async def _start_worker(settings: Settings, smtp: SmtpServer, log: Path) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "api.cli",
        "worker",
        cwd=REPO_ROOT,
        env=_worker_env(settings, smtp),
        stdout=log.open("ab"),
        stderr=asyncio.subprocess.STDOUT,
    )


async def _until(what: str, check: Callable[[], Awaitable[bool]], log: Path) -> None:
    for _ in range(WAIT_SECONDS * 4):
        if await check():
            return
        await asyncio.sleep(0.25)
    output = await asyncio.to_thread(log.read_text)
    pytest.fail(f"timed out after {WAIT_SECONDS}s waiting for {what}; worker output:\n{output[-4000:]}")


async def _transfers_to(treasurer, payee: str) -> int:
    chain, token = treasurer.context.chain, treasurer.context.token
    payee_topic = "0x" + "00" * 12 + payee.lower().removeprefix("0x")
    logs = await chain.w3.eth.get_logs(
        {"fromBlock": 0, "toBlock": "latest", "address": token.address, "topics": [TRANSFER_TOPIC, None, payee_topic]}
    )
    return len(logs)


async def test_killed_worker_and_flushed_redis_lose_nothing_and_pay_once(
    treasurer,
    settings: Settings,
    smtp_server: SmtpServer,
    tmp_path: Path,
) -> None:
    log = tmp_path / "worker.log"
    globex = next(v["payout_address"] for v in sample_vendors() if v["name"].startswith("Globex"))
    transfers_before = await _transfers_to(treasurer, globex)

    invoice_id = await treasurer.submit(globex_invoice("GX-KILL-1", Decimal("15000")), "cfo@example.com")
    redis = Redis.from_url(settings.redis_url)
    await InvoiceIntake(redis, settings.intake_stream, settings.worker_group).enqueue(invoice_id)

    first = await _start_worker(settings, smtp_server, log)
    try:

        async def waiting_and_mailed() -> bool:
            request = await approval_for(treasurer, invoice_id)
            if request is None:
                return False
            return any(n.status == NotificationStatus.SENT for n in await notifications_for(treasurer, request.id))

        await _until("the invoice to wait for approval and its mail to be sent", waiting_and_mailed, log)
    finally:
        first.send_signal(signal.SIGKILL)
        await first.wait()
    assert first.returncode == -signal.SIGKILL
    [mail] = smtp_server.messages
    assert mail["To"] == "controller@example.com" and "GX-KILL-1" in mail["Subject"]
    assert (await treasurer.result(invoice_id)).status == InvoiceStatus.PENDING_APPROVAL

    # Redis forgets everything while the thread waits; the approval is recorded in PostgreSQL regardless.
    await redis.flushdb()
    request = await approval_for(treasurer, invoice_id)
    outcome = await vote(treasurer, request.id, "controller@example.com", "approve", channel="api")
    assert outcome.closed
    await redis.flushdb()  # and the ready entry the vote queued is lost too

    second = await _start_worker(settings, smtp_server, log)
    try:

        async def paid() -> bool:
            return (await treasurer.result(invoice_id)).status == InvoiceStatus.PAID

        await _until("the approved invoice to be paid by the new worker", paid, log)
    finally:
        second.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(second.wait(), 30)
        except TimeoutError:
            second.kill()
            await second.wait()
        await redis.aclose()

    assert len(await confirmed_payments(treasurer, invoice_id)) == 1
    assert await _transfers_to(treasurer, globex) == transfers_before + 1, "exactly one Transfer on chain"
    request = await approval_for(treasurer, invoice_id)
    assert request.status == ApprovalStatus.APPROVED and request.closed_at is not None
    assert request.resumed_at is not None
    assert "rebuilt from PostgreSQL" in await asyncio.to_thread(log.read_text)
    assert len(smtp_server.messages) == 1, "the request mail was not sent twice"
    assert uuid.UUID(str(invoice_id))
