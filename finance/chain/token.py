"""Which stablecoin the treasury pays in, and its decimals as the contract itself reports them."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession
from web3 import Web3

from finance.chain.client import ChainClient
from finance.errors import ChainMisconfigured
from finance.models import TokenDeployment
from finance.payments.service import TokenInfo
from finance.settings import Settings


async def resolve_token(session: AsyncSession, chain: ChainClient, settings: Settings) -> TokenInfo:
    if settings.token_address:
        address = Web3.to_checksum_address(settings.token_address)
    else:
        deployment = await session.get(TokenDeployment, chain.chain_id)
        if deployment is None:
            raise ChainMisconfigured(
                f"no stablecoin known on chain {chain.chain_id}: set TREASURER_TOKEN_ADDRESS "
                "or run `treasurer chain bootstrap` on a dev chain"
            )
        address = deployment.address
    if not await chain.has_code(address):
        raise ChainMisconfigured(f"no contract at the token address {address} on chain {chain.chain_id}")
    token = chain.token(address)
    # Decimals from the contract, not from configuration: a 6-vs-18 mix-up is a 10**12 error.
    decimals = await chain.token_decimals(address)
    symbol = await token.functions.symbol().call()
    return TokenInfo(address=address, symbol=symbol, decimals=decimals)
