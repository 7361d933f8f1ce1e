"""A development chain that restarts empty (anvil restarted, same chain id) is re-bootstrapped, and the
nonce allocator forgets the old chain instead of signing with nonces the new chain will never reach."""

from __future__ import annotations

from agents.runtime import open_treasurer
from api.demo import sample_invoices
from finance.models import InvoiceStatus
from finance.settings import Settings
from tests.conftest import start_anvil
from tests.fixtures.vendors import register_sample_vendors

SAMPLES = dict(sample_invoices())


async def test_payments_continue_after_the_dev_chain_is_reset(settings: Settings) -> None:
    first = start_anvil()
    try:
        on_first = settings.model_copy(update={"chain_rpc_url": first.url})
        async with open_treasurer(on_first, bootstrap_chain=True) as treasurer:
            await register_sample_vendors(treasurer)
            paid = await treasurer.process(await treasurer.submit(SAMPLES["01-acme-hosting.txt"]))
            assert paid.status == InvoiceStatus.PAID
    finally:
        first.stop()

    second = start_anvil()
    try:
        on_second = settings.model_copy(update={"chain_rpc_url": second.url})
        async with open_treasurer(on_second, bootstrap_chain=True) as treasurer:
            result = await treasurer.process(await treasurer.submit(SAMPLES["02-northwind.txt"]))
            assert result.status == InvoiceStatus.PAID, result.reason
            receipt = await treasurer.context.chain.receipt(result.tx_hash)
            assert receipt.status == 1
    finally:
        second.stop()
