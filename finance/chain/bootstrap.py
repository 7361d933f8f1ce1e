"""`treasurer chain bootstrap`: put the test stablecoin on a development chain and fund the treasury.

Idempotent: a deployment recorded for this chain id is reused when its code is still there (a
restarted anvil or a new embedded chain has lost it, and then it is deployed again).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession

from finance.chain.artifacts import stablecoin_artifact
from finance.chain.client import ChainClient
from finance.errors import ChainMisconfigured
from finance.models import TokenDeployment, WalletNonce
from finance.money import to_base_units

# Enough native currency for tens of thousands of transfers on a dev chain.
_GAS_FUNDING_WEI = 100 * 10**18


@dataclass(frozen=True)
class Bootstrap:
    token_address: str
    deployed: bool
    minted_units: int


async def bootstrap_dev_chain(session: AsyncSession, chain: ChainClient) -> Bootstrap:
    settings = chain.settings
    if settings.environment == "production":
        raise ChainMisconfigured("chain bootstrap is for development chains; it would mint a fake stablecoin")
    await _fund_gas(chain)

    recorded = await session.get(TokenDeployment, chain.chain_id)
    if recorded is not None and await chain.has_code(recorded.address):
        return Bootstrap(token_address=recorded.address, deployed=False, minted_units=0)
    if recorded is not None:
        # The chain was reset under us (a restarted anvil, a new in-process EVM): the wallet's nonces
        # start again from zero, so the allocator's memory of the old chain must go.
        await session.execute(
            delete(WalletNonce).where(
                WalletNonce.chain_id == chain.chain_id, WalletNonce.address == chain.treasury_address
            )
        )

    artifact = stablecoin_artifact()
    factory = chain.w3.eth.contract(abi=artifact["abi"], bytecode=artifact["bytecode"])
    deploy_tx = await factory.constructor(
        settings.token_name, settings.token_symbol, settings.token_decimals
    ).build_transaction({"from": chain.treasury_address, "nonce": await chain.pending_nonce()})
    receipt = await _send(chain, deploy_tx)
    address = receipt["contractAddress"]

    minted = to_base_units(settings.bootstrap_mint, settings.token_decimals)
    token = chain.token(address)
    mint_tx = await token.functions.mint(chain.treasury_address, minted).build_transaction(
        {"from": chain.treasury_address, "nonce": await chain.pending_nonce()}
    )
    await _send(chain, mint_tx)

    if recorded is None:
        session.add(
            TokenDeployment(
                chain_id=chain.chain_id,
                address=address,
                symbol=settings.token_symbol,
                decimals=settings.token_decimals,
            )
        )
    else:
        recorded.address = address
        recorded.symbol = settings.token_symbol
        recorded.decimals = settings.token_decimals
    await session.flush()
    return Bootstrap(token_address=address, deployed=True, minted_units=minted)


async def _fund_gas(chain: ChainClient) -> None:
    if await chain.native_balance(chain.treasury_address) >= _GAS_FUNDING_WEI // 10:
        return
    # Dev nodes (anvil, eth-tester) keep unlocked, prefunded accounts; take gas money from the first.
    donors = await chain.w3.eth.accounts
    if not donors:
        raise ChainMisconfigured("the treasury has no gas and the node offers no funded account")
    tx_hash = await chain.w3.eth.send_transaction(
        {"from": donors[0], "to": chain.treasury_address, "value": _GAS_FUNDING_WEI}
    )
    await chain.w3.eth.wait_for_transaction_receipt(tx_hash)


async def _send(chain: ChainClient, tx: dict):
    signed = chain.account.sign_transaction(tx)
    tx_hash = await chain.w3.eth.send_raw_transaction(signed.raw_transaction)
    receipt = await chain.w3.eth.wait_for_transaction_receipt(tx_hash)
    if receipt["status"] != 1:
        raise ChainMisconfigured(f"bootstrap transaction {tx_hash.hex()} reverted")
    return receipt
