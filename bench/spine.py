"""Benchmark: invoices per second through the whole spine on anvil + PostgreSQL, beside raw signed
ERC-20 transfers per second through web3 alone, in the same run and at the same concurrency.

    python bench/spine.py [--invoices 200] [--concurrency 8]

Needs PostgreSQL (TREASURER_TEST_POSTGRES_URL, default postgresql://postgres@127.0.0.1:5432/test)
and the anvil binary (`make anvil`). It starts its own anvil and database and removes them after.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import sys
import time
import uuid
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from statistics import median

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import psycopg
from pydantic import SecretStr
from sqlalchemy import select

from agents.runtime import open_treasurer
from finance.chain.anvil import start_anvil
from finance.chain.artifacts import stablecoin_abi
from finance.migrations.runner import upgrade_async
from finance.models import InvoiceStatus, PaymentAttempt
from finance.money import to_base_units
from finance.settings import Settings
from tests.fixtures.vendors import publish_established_policy, register_verified_vendor

PG_ADMIN_URL = os.environ.get("TREASURER_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
PAYEE = "0x43238A89d4f1C52777f395Aecd47b9F0d961171A"


def _amount(n: int) -> str:
    return f"{1 + n % 50}.25"


def _issued(n: int) -> str:
    # A distinct date per bill: the same vendor, amount and date twice is held as a possible duplicate.
    return (date(2024, 1, 1) + timedelta(days=n)).isoformat()


def _amount_units(n: int, decimals: int) -> int:
    # The same amounts as the invoices, so gas per transfer and per payment compare like for like.
    return to_base_units(Decimal(_amount(n)), decimals)


INVOICE = """ACME Hosting GmbH
Invoice No: BENCH-{n:06d}
Invoice date: {issued}
Total: USD {amount}
"""


async def spine(settings: Settings, invoices: int, concurrency: int) -> tuple[float, int]:
    async with open_treasurer(settings, bootstrap_chain=True) as treasurer:
        async with treasurer.sessions.begin() as session:
            # An established payee under the starter policy otherwise: the new-payee approval is not measured here.
            await publish_established_policy(session)
            await register_verified_vendor(session, "ACME Hosting GmbH", PAYEE)
        queue: asyncio.Queue[int] = asyncio.Queue()
        for n in range(invoices):
            queue.put_nowait(n)
        statuses: list[InvoiceStatus] = []

        async def worker() -> None:
            while not queue.empty():
                n = queue.get_nowait()
                invoice_id = await treasurer.submit(INVOICE.format(n=n, amount=_amount(n), issued=_issued(n)))
                statuses.append((await treasurer.process(invoice_id)).status)

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = time.perf_counter() - started
        async with treasurer.sessions() as session:
            gas = list(await session.scalars(select(PaymentAttempt.gas_used)))
    paid = sum(1 for s in statuses if s == InvoiceStatus.PAID)
    if paid != invoices:
        raise SystemExit(f"only {paid}/{invoices} invoices were paid: {set(statuses)}")
    return invoices / elapsed, int(median(gas))


async def raw_transfers(settings: Settings, transfers: int, concurrency: int) -> tuple[float, int]:
    """The same transfers with nothing but web3: sign locally, send, wait for the receipt."""
    async with open_treasurer(settings, bootstrap_chain=True) as treasurer:
        chain, token = treasurer.context.chain, treasurer.context.token
        # Estimated on the largest amount (the most non-zero calldata) while the payee is still empty.
        gas = await chain.estimate_transfer_gas(token.address, PAYEE, _amount_units(49, token.decimals))
        max_fee, priority = await chain.fee_quote()
        next_nonce = await chain.pending_nonce()
        counter = iter(range(transfers))
        gas_used: list[int] = []

        async def worker() -> None:
            nonlocal next_nonce
            for n in counter:
                nonce, next_nonce = next_nonce, next_nonce + 1
                signed = await chain.sign_transfer(
                    token.address,
                    PAYEE,
                    _amount_units(n, token.decimals),
                    nonce=nonce,
                    gas_limit=gas,
                    max_fee=max_fee,
                    priority_fee=priority,
                )
                await chain.broadcast(signed.raw_tx, signed.tx_hash)
                receipt = await chain.wait_for_confirmed_receipt(signed.tx_hash)
                assert receipt.status == 1, f"raw transfer {signed.tx_hash} reverted"
                gas_used.append(receipt.gas_used)

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = time.perf_counter() - started
    return transfers / elapsed, int(median(gas_used))


async def idiomatic_web3_transfers(settings: Settings, transfers: int, concurrency: int) -> float:
    """The same transfers written the way web3.py documents them: the contract API builds each
    transaction (gas estimate, fees, nonce), then sign, send, and `wait_for_transaction_receipt`."""
    async with open_treasurer(settings, bootstrap_chain=True) as treasurer:
        chain, token = treasurer.context.chain, treasurer.context.token
        contract = chain.w3.eth.contract(address=token.address, abi=stablecoin_abi())
        nonce_lock = asyncio.Lock()
        next_nonce = await chain.w3.eth.get_transaction_count(chain.treasury_address, "pending")
        counter = iter(range(transfers))

        async def worker() -> None:
            nonlocal next_nonce
            for n in counter:
                async with nonce_lock:
                    nonce, next_nonce = next_nonce, next_nonce + 1
                tx = await contract.functions.transfer(PAYEE, _amount_units(n, token.decimals)).build_transaction(
                    {"from": chain.treasury_address, "nonce": nonce}
                )
                signed = chain.account.sign_transaction(tx)
                tx_hash = await chain.w3.eth.send_raw_transaction(signed.raw_transaction)
                receipt = await chain.w3.eth.wait_for_transaction_receipt(tx_hash, poll_latency=0.005)
                assert receipt["status"] == 1

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return transfers / (time.perf_counter() - started)


def bench_settings(database_url: str, rpc_url: str, **overrides) -> Settings:
    """A treasurer on a benchmark's own database and anvil, with a fresh wallet so no phase inherits
    another's nonces or balances."""
    return Settings(
        _env_file=None,
        environment="test",
        database_url=database_url,
        chain_rpc_url=rpc_url,
        chain_id=31337,
        wallet_private_key=SecretStr("0x" + secrets.token_hex(32)),
        jwt_secret=SecretStr(secrets.token_urlsafe(32)),
        **overrides,
    )


async def bench_database(admin: psycopg.Connection) -> tuple[str, str]:
    name = f"treasurer_bench_{uuid.uuid4().hex[:8]}"
    admin.execute(f'CREATE DATABASE "{name}"')
    url = f"{PG_ADMIN_URL.rsplit('/', 1)[0].replace('postgresql://', 'postgresql+psycopg://', 1)}/{name}"
    await upgrade_async(url)
    return name, url


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--invoices", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=8)
    args = parser.parse_args()

    node = start_anvil()
    admin = psycopg.connect(PG_ADMIN_URL, autocommit=True)
    databases = []
    try:

        def settings_for(url: str) -> Settings:
            return bench_settings(url, node.url, invoice_limit=10_000)

        name, url = await bench_database(admin)
        databases.append(name)
        raw_rate, raw_gas = await raw_transfers(settings_for(url), args.invoices, args.concurrency)
        name, url = await bench_database(admin)
        databases.append(name)
        idiomatic_rate = await idiomatic_web3_transfers(settings_for(url), args.invoices, args.concurrency)
        name, url = await bench_database(admin)
        databases.append(name)
        spine_rate, spine_gas = await spine(settings_for(url), args.invoices, args.concurrency)
    finally:
        node.stop()
        for name in databases:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()

    print(f"spine benchmark: {args.invoices} invoices, concurrency {args.concurrency}, anvil automine + PostgreSQL")
    print(f"  raw signed transfers, lean JSON-RPC path:     {raw_rate:8.1f} /s   median gas per transfer {raw_gas}")
    print(f"  raw signed transfers, web3 contract API:      {idiomatic_rate:8.1f} /s")
    print(f"  invoices through the whole spine:             {spine_rate:8.1f} /s   median gas per payment {spine_gas}")
    print(f"  ratio spine / lean raw:                       {spine_rate / raw_rate:8.2f}   (target >= 0.50)")
    print(f"  ratio spine / web3 contract API:              {spine_rate / idiomatic_rate:8.2f}")


if __name__ == "__main__":
    asyncio.run(main())
