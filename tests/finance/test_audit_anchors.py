"""Anchoring the decision log's head on anvil: what the transaction carries, when the timer sends one, and that
anchors share the hot wallet's nonces with payments without ever colliding or being mistaken for a gap."""

from __future__ import annotations

import asyncio
import json
from datetime import date, timedelta

import pytest
from sqlalchemy import select, text

from agents.reconciler import reconcile
from api.demo import sample_invoices
from finance.audit.anchors import Anchorer, NothingToAnchor, wait_until_mined
from finance.audit.payload import MAGIC, decode_anchor, encode_anchor
from finance.decisions import log_head
from finance.models import AnchorStatus, AttemptStatus, AuditAnchor, InvoiceStatus, PaymentAttempt
from finance.payments.nonce_gaps import find_nonce_gaps, unblock_nonces
from finance.settings import Settings
from tests.fixtures.audit import Trail, append_decisions, trail  # noqa: F401

ACME = dict(sample_invoices())["01-acme-hosting.txt"]


def test_the_payload_round_trips_and_refuses_what_is_not_an_anchor() -> None:
    head = "ab" * 32
    data = encode_anchor(42, head)
    assert len(data) == 48 and data.startswith(MAGIC)
    decoded = decode_anchor(data)
    assert (decoded.seq, decoded.head_hash) == (42, head)
    assert decode_anchor(b"") is None
    assert decode_anchor(b"XXXXXXXX" + data[8:]) is None  # another prefix: a filler, a stranger's data
    assert decode_anchor(data + b"\x00") is None
    with pytest.raises(ValueError):
        encode_anchor(0, head)


async def test_an_anchor_is_a_zero_value_self_transfer_carrying_the_head(trail: Trail, settings: Settings) -> None:  # noqa: F811
    await append_decisions(trail.sessions, 5)
    async with trail.sessions() as session:
        head = await log_head(session)

    anchor = await wait_until_mined(trail.anchorer, await trail.anchorer.anchor_now())

    tx = await trail.chain.transaction(anchor.tx_hash)
    treasury = trail.chain.treasury_address
    assert (tx.sender, tx.to, tx.value) == (treasury, treasury, 0)
    on_chain = decode_anchor(tx.data)
    assert (on_chain.seq, on_chain.head_hash) == (head.seq, head.hash) == (anchor.seq, anchor.head_hash)
    assert anchor.status == AnchorStatus.MINED and anchor.block_number == tx.block_number
    # 21,000 plus the 48 bytes of calldata (at the EIP-7623 floor price on a Prague chain).
    assert 21_000 < anchor.gas_used < 24_000
    [line] = settings.anchor_file.read_text().splitlines()
    assert json.loads(line) | {"at": None} == {
        "seq": 5, "head_hash": head.hash, "chain_id": trail.chain.chain_id, "tx_hash": anchor.tx_hash, "at": None,
    }  # fmt: skip
    # The head is anchored already: asking again sends nothing new.
    again = await trail.anchorer.anchor_now()
    assert again.tx_hash == anchor.tx_hash


async def test_an_empty_log_has_nothing_to_anchor(trail: Trail) -> None:  # noqa: F811
    with pytest.raises(NothingToAnchor):
        await trail.anchorer.anchor_now()
    assert await trail.anchorer.anchor_if_due() is None


async def test_the_timer_anchors_only_a_moved_log_and_at_most_once_per_interval(trail: Trail) -> None:  # noqa: F811
    await append_decisions(trail.sessions, 2)
    first = await trail.anchorer.tick()
    assert first is not None and first.seq == 2
    assert await trail.anchorer.tick() is None  # nothing new
    await append_decisions(trail.sessions, 1)
    assert await trail.anchorer.tick() is None  # new, but the interval has not passed
    async with trail.sessions.begin() as session:
        await session.execute(text("UPDATE audit_anchors SET created_at = created_at - interval '2 hours'"))
    second = await trail.anchorer.tick()
    assert second is not None and second.seq == 3
    async with trail.sessions() as session:
        statuses = dict((await session.execute(select(AuditAnchor.seq, AuditAnchor.status))).all())
    assert statuses == {2: AnchorStatus.MINED, 3: AnchorStatus.BROADCAST}  # the tick settled the first one


async def test_workers_racing_on_one_head_anchor_it_once(trail: Trail, settings: Settings) -> None:  # noqa: F811
    await append_decisions(trail.sessions, 3)
    workers = [Anchorer(trail.sessions, trail.chain, settings) for _ in range(4)]
    sent = [a for a in await asyncio.gather(*(w.anchor_if_due() for w in workers)) if a is not None]
    assert len(sent) == 1
    async with trail.sessions() as session:
        assert len(list(await session.scalars(select(AuditAnchor)))) == 1


async def test_anchors_and_concurrent_payments_never_share_a_nonce(treasurer) -> None:
    chain = treasurer.context.chain
    anchorer = Anchorer(treasurer.sessions, chain, treasurer.context.settings)
    texts = [
        ACME.replace("INV-2024-001", f"INV-2024-6{n:02d}").replace(
            "2024-03-05", (date(2024, 6, 1) + timedelta(weeks=3 * n)).isoformat()
        )
        for n in range(6)
    ]
    invoice_ids = [await treasurer.submit(t) for t in texts]

    async def keep_anchoring() -> list:
        sent = []
        for _ in range(12):
            try:
                sent.append(await anchorer.anchor_now())
            except NothingToAnchor:
                pass
            await asyncio.sleep(0.02)
        return sent

    *results, anchors = await asyncio.gather(*(treasurer.process(i) for i in invoice_ids), keep_anchoring())

    assert [r.status for r in results] == [InvoiceStatus.PAID] * 6
    assert len({a.tx_hash for a in anchors}) >= 2
    for anchor in {a.tx_hash: a for a in anchors}.values():
        assert (await wait_until_mined(anchorer, anchor)).status == AnchorStatus.MINED
    async with treasurer.sessions() as session:
        paid = list(
            await session.scalars(select(PaymentAttempt.nonce).where(PaymentAttempt.status == AttemptStatus.MINED))
        )
        anchored = list(
            await session.scalars(select(AuditAnchor.nonce).where(AuditAnchor.status == AnchorStatus.MINED))
        )
    nonces = sorted(paid + anchored)
    assert len(set(nonces)) == len(nonces)
    assert nonces == list(range(nonces[0], nonces[0] + len(nonces)))
    assert await chain.pending_nonce() == nonces[-1] + 1


async def test_a_stored_unsent_anchor_holds_its_nonce_and_is_sent_not_filled(treasurer, monkeypatch) -> None:
    chain = treasurer.context.chain
    anchorer = Anchorer(treasurer.sessions, chain, treasurer.context.settings)

    async def died(raw_tx: str, tx_hash: str) -> None:
        raise RuntimeError("the worker died before it sent the anchor")

    with monkeypatch.context() as patch:
        patch.setattr(chain, "broadcast", died)
        with pytest.raises(RuntimeError):
            await anchorer.anchor_now()
    async with treasurer.sessions() as session:
        stored = await session.scalar(select(AuditAnchor))
    assert stored.status == AnchorStatus.SIGNED and await chain.transaction(stored.tx_hash) is None
    # Its nonce is allocated and nothing on chain holds it: only the stored anchor says it is not a gap.
    assert await find_nonce_gaps(treasurer.sessions, chain) == []

    report = await reconcile(treasurer)

    assert report.nonce_gaps_filled == [] and not report.errors
    receipt = await chain.wait_for_confirmed_receipt(stored.tx_hash)
    assert receipt is not None and receipt.status == 1
    assert decode_anchor((await chain.transaction(stored.tx_hash)).data).seq == stored.seq
    [settled] = await anchorer.settle()
    assert settled.tx_hash == stored.tx_hash and settled.status == AnchorStatus.MINED
    assert await unblock_nonces(treasurer.sessions, chain) == []
    # The wallet's queue flows on: the next payment takes the nonce after the anchor's.
    result = await treasurer.process(await treasurer.submit(ACME))
    assert result.status == InvoiceStatus.PAID, result.reason
    async with treasurer.sessions() as session:
        assert await session.scalar(select(PaymentAttempt.nonce)) == stored.nonce + 1


async def test_a_stuck_anchor_is_replaced_with_the_same_nonce_and_one_of_them_is_mined(settings: Settings) -> None:
    from finance.audit.verification import verify_against_chain
    from finance.chain.bootstrap import bootstrap_dev_chain
    from finance.chain.client import ChainClient
    from finance.db import create_engine, session_factory
    from tests.conftest import start_anvil

    node = start_anvil()  # its own node: mining is switched off below
    fast = settings.model_copy(update={"chain_rpc_url": node.url, "stuck_after_seconds": 0.3})
    engine = create_engine(fast.database_url)
    sessions = session_factory(engine)
    chain = await ChainClient.connect(fast)
    try:
        async with sessions.begin() as session:
            await bootstrap_dev_chain(session, chain)
        anchorer = Anchorer(sessions, chain, fast)
        await append_decisions(sessions, 3)
        assert "error" not in await chain.w3.provider.make_request("evm_setAutomine", [False])
        first = await anchorer.anchor_now()
        await asyncio.sleep(0.4)

        assert await anchorer.settle() == []  # nothing mined: the stuck anchor is replaced instead

        async with sessions() as session:
            rows = list(await session.scalars(select(AuditAnchor).order_by(AuditAnchor.created_at)))
        assert [r.status for r in rows] == [AnchorStatus.REPLACED, AnchorStatus.BROADCAST]
        assert rows[1].nonce == first.nonce and rows[1].max_fee_per_gas > rows[0].max_fee_per_gas
        assert await chain.w3.provider.make_request("evm_mine", [])
        [mined] = await anchorer.settle()
        assert mined.tx_hash == rows[1].tx_hash and mined.seq == 3
        assert len(fast.anchor_file.read_text().splitlines()) == 2  # both were filed before they were sent
        async with sessions() as session:
            report = await verify_against_chain(session, chain, fast.anchor_file)
        assert report.intact and [a.tx_hash for a in report.anchors] == [mined.tx_hash]
        # The replaced anchor was never mined, and is recorded so: it earns no "not on chain" note.
        assert report.notes == []
    finally:
        await chain.close()
        await engine.dispose()
        node.stop()
