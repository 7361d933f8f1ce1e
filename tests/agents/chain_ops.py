"""Test-only moves of the treasury's tokens, through the same nonce allocator as payments."""

from __future__ import annotations

from decimal import Decimal

from finance.money import to_base_units
from finance.payments.nonces import allocate_nonce

SINK = "0x000000000000000000000000000000000000bEEF"


async def burn_treasury_down_to(treasurer, keep: Decimal) -> None:
    chain, token = treasurer.context.chain, treasurer.context.token
    balance = await chain.token_balance(token.address, chain.treasury_address)
    amount = balance - to_base_units(keep, token.decimals)
    async with treasurer.sessions.begin() as session:
        nonce = await allocate_nonce(
            session, chain_id=chain.chain_id, address=chain.treasury_address, chain_pending=await chain.pending_nonce()
        )
    max_fee, priority = await chain.fee_quote()
    signed = await chain.sign_transfer(
        token.address, SINK, amount, nonce=nonce, gas_limit=100_000, max_fee=max_fee, priority_fee=priority
    )
    await chain.broadcast(signed.raw_tx, signed.tx_hash)
    receipt = await chain.wait_for_confirmed_receipt(signed.tx_hash)
    assert receipt is not None and receipt.status == 1
