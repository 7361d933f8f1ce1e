"""What the chain can do to a payment: a token that answers false, a wallet without gas, a reorg
shallower than the confirmation depth. None of them may end in a payment marked paid that is not."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from pathlib import Path

from sqlalchemy import select

from agents.runtime import open_treasurer
from api.demo import sample_invoices
from finance.models import AttemptStatus, InvoiceStatus, Payment, PaymentAttempt, PaymentStatus
from finance.payments.repository import PaymentRepository
from finance.settings import Settings
from tests.conftest import start_anvil
from tests.fixtures.vendors import register_sample_vendors

ACME = dict(sample_invoices())["01-acme-hosting.txt"]
FALSE_TOKEN = Path(__file__).resolve().parents[1] / "fixtures" / "contracts" / "FalseToken.vy"


def _compile(source: Path) -> dict:
    vyper = Path(sys.executable).with_name("vyper")
    out = subprocess.run([str(vyper), "-f", "abi,bytecode", str(source)], check=True, capture_output=True, text=True)
    abi, bytecode = out.stdout.splitlines()[:2]
    return {"abi": json.loads(abi), "bytecode": bytecode.strip()}


async def _rpc(chain, method: str, *params):
    response = await chain.w3.provider.make_request(method, list(params))
    assert "error" not in response, response
    return response["result"]


async def _payment(treasurer, invoice_id) -> Payment:
    async with treasurer.sessions() as session:
        return await session.scalar(select(Payment).where(Payment.invoice_id == invoice_id))


async def test_a_token_that_returns_false_is_never_marked_paid(settings: Settings) -> None:
    async with open_treasurer(settings, bootstrap_chain=True) as treasurer:  # funds the wallet's gas
        chain = treasurer.context.chain
        artifact = await asyncio.to_thread(_compile, FALSE_TOKEN)
        factory = chain.w3.eth.contract(abi=artifact["abi"], bytecode=artifact["bytecode"])
        tx = await factory.constructor().build_transaction(
            {"from": chain.treasury_address, "nonce": await chain.pending_nonce()}
        )
        signed = chain.account.sign_transaction(tx)
        receipt = await chain.w3.eth.wait_for_transaction_receipt(
            await chain.w3.eth.send_raw_transaction(signed.raw_transaction)
        )
    broken = settings.model_copy(update={"token_address": receipt["contractAddress"]})
    async with open_treasurer(broken) as treasurer:
        await register_sample_vendors(treasurer)
        invoice_id = await treasurer.submit(ACME)
        result = await treasurer.process(invoice_id)
        assert result.status == InvoiceStatus.FAILED
        assert "no Transfer" in result.reason
        payment = await _payment(treasurer, invoice_id)
        assert payment.status == PaymentStatus.FAILED
        mined = await treasurer.context.chain.receipt(payment.tx_hash)
        assert mined.status == 1  # the chain said yes; the missing Transfer event said no


async def test_a_wallet_without_gas_fails_the_payment_cleanly(treasurer) -> None:
    chain = treasurer.context.chain
    await _rpc(chain, "anvil_setBalance", chain.treasury_address, "0x0")
    invoice_id = await treasurer.submit(ACME)
    result = await treasurer.process(invoice_id)
    assert result.status == InvoiceStatus.FAILED
    assert "insufficient funds" in result.reason.lower()
    async with treasurer.sessions() as session:
        assert await PaymentRepository(session).reserved_units(treasurer.context.token.address) == 0


async def test_a_reorg_shallower_than_the_confirmation_depth_never_settles_the_lost_transaction(
    settings: Settings,
) -> None:
    node = start_anvil()
    try:
        deep = settings.model_copy(
            update={
                "chain_rpc_url": node.url,
                "confirmations": 3,
                "stuck_after_seconds": 1,
                "receipt_timeout_seconds": 30,
            }
        )
        async with open_treasurer(deep, bootstrap_chain=True) as treasurer:
            chain = treasurer.context.chain
            await register_sample_vendors(treasurer)
            before = await _rpc(chain, "evm_snapshot")
            invoice_id = await treasurer.submit(ACME)
            paying = asyncio.create_task(treasurer.process(invoice_id))
            first = None
            for _ in range(200):  # bounded: 10 s
                payment = await _payment(treasurer, invoice_id)
                if payment is not None and payment.tx_hash and await chain.receipt(payment.tx_hash):
                    first = payment.tx_hash
                    break
                await asyncio.sleep(0.05)
            assert first is not None, "the payment was never mined"
            # One block deep, then the chain reorganises back to before it.
            await _rpc(chain, "evm_revert", before)
            for _ in range(120):  # bounded: mine until the SAGA settles (a replacement lands and deepens)
                if paying.done():
                    break
                await _rpc(chain, "evm_mine")
                await asyncio.sleep(0.1)
            result = await asyncio.wait_for(paying, timeout=30)

            assert result.status == InvoiceStatus.PAID, result.reason
            assert result.tx_hash != first  # the reorganised-away transaction was never taken as paid
            receipt = await chain.receipt(result.tx_hash)
            assert receipt is not None and receipt.status == 1
            async with treasurer.sessions() as session:
                payment = await session.scalar(select(Payment).where(Payment.invoice_id == invoice_id))
                attempts = list(await session.scalars(
                    select(PaymentAttempt).where(PaymentAttempt.payment_id == payment.id)
                ))  # fmt: skip
            assert sum(a.status == AttemptStatus.MINED for a in attempts) == 1
            # Exactly one of the attempts exists on the chain now.
            on_chain = [a for a in attempts if await chain.receipt(a.tx_hash) is not None]
            assert len(on_chain) == 1 and on_chain[0].tx_hash == result.tx_hash
    finally:
        node.stop()


def _unreachable_for(chain, method: str, failures: int) -> dict:
    """Make `method` fail like a dead node for the next `failures` calls (a connection refused)."""
    import aiohttp

    real = chain._rpc
    state = {"left": failures, "calls": 0}

    async def flaky(name: str, params: list):
        if name == method:
            state["calls"] += 1
            if state["left"] > 0:
                state["left"] -= 1
                raise aiohttp.ClientConnectionError("connection refused")
        return await real(name, params)

    chain._rpc = flaky
    return state


async def test_a_flaky_node_is_retried_and_pays_once(treasurer) -> None:
    state = _unreachable_for(treasurer.context.chain, "eth_sendRawTransaction", failures=2)
    result = await treasurer.process(await treasurer.submit(ACME))
    assert result.status == InvoiceStatus.PAID, result.reason
    assert state["calls"] == 3
    payment = await _payment(treasurer, result.invoice_id)
    async with treasurer.sessions() as session:
        assert len(await PaymentRepository(session).attempts(payment.id)) == 1


async def test_a_dead_node_leaves_the_payment_waiting_and_the_reconciler_sends_the_same_bytes(treasurer) -> None:
    from agents.reconciler import reconcile

    chain = treasurer.context.chain
    state = _unreachable_for(chain, "eth_sendRawTransaction", failures=10**6)
    result = await treasurer.process(await treasurer.submit(ACME))
    assert result.status == InvoiceStatus.PAYING and "unreachable" in result.reason
    payment = await _payment(treasurer, result.invoice_id)
    assert payment.status == PaymentStatus.SUBMITTED
    signed_hash = payment.tx_hash

    state["left"] = 0  # the node is back
    report = await reconcile(treasurer)
    assert report.outcomes == {"paid": 1}
    payment = await _payment(treasurer, result.invoice_id)
    assert payment.status == PaymentStatus.CONFIRMED and payment.tx_hash == signed_hash
    async with treasurer.sessions() as session:
        assert len(await PaymentRepository(session).attempts(payment.id)) == 1
