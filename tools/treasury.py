"""Read-only treasury tools: the spendable balance and the vendor registry."""

from __future__ import annotations

from dataclasses import dataclass

from langchain_core.tools import BaseTool, StructuredTool
from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from finance.chain.client import ChainClient
from finance.money import from_base_units, to_base_units
from finance.payments.repository import PaymentRepository
from finance.payments.service import TokenInfo
from finance.runway import Runway, compute_runway
from finance.settings import Settings
from finance.vendors import VendorRepository


@dataclass(frozen=True)
class Balance:
    on_chain_units: int
    reserved_units: int

    @property
    def spendable_units(self) -> int:
        return self.on_chain_units - self.reserved_units


async def treasury_balance(sessions: async_sessionmaker[AsyncSession], chain: ChainClient, token: TokenInfo) -> Balance:
    on_chain = await chain.token_balance(token.address, chain.treasury_address)
    async with sessions() as session:
        reserved = await PaymentRepository(session).reserved_units(token.address)
    return Balance(on_chain_units=on_chain, reserved_units=reserved)


async def treasury_runway(
    sessions: async_sessionmaker[AsyncSession], chain: ChainClient, token: TokenInfo, settings: Settings
) -> Runway:
    balance = await treasury_balance(sessions, chain, token)
    async with sessions() as session:
        return await compute_runway(
            session,
            balance_units=balance.on_chain_units,
            reserved_units=balance.reserved_units,
            window_days=settings.runway_window_days,
            baseline_monthly_burn_units=to_base_units(settings.baseline_monthly_burn, token.decimals),
        )


class VendorLookupArgs(BaseModel):
    name: str


@dataclass(frozen=True)
class TreasuryTools:
    balance: BaseTool
    vendor_lookup: BaseTool


def build_treasury_tools(
    sessions: async_sessionmaker[AsyncSession], chain: ChainClient, token: TokenInfo
) -> TreasuryTools:
    async def spendable_balance() -> dict:
        balance = await treasury_balance(sessions, chain, token)
        as_units = lambda units: str(from_base_units(units, token.decimals))  # noqa: E731
        return {
            "token": token.symbol,
            "on_chain": as_units(balance.on_chain_units),
            "reserved": as_units(balance.reserved_units),
            "spendable": as_units(balance.spendable_units),
        }

    async def vendor_lookup(name: str) -> dict:
        async with sessions() as session:
            vendor = await VendorRepository(session).match(name)
        if vendor is None:
            return {"registered": False}
        # The address is returned for display; payments never take it from a tool's output.
        return {"registered": True, "vendor_id": str(vendor.id), "name": vendor.name}

    return TreasuryTools(
        balance=StructuredTool.from_function(
            coroutine=spendable_balance,
            name="spendable_balance",
            description="The treasury's token balance on chain, minus payments in flight.",
        ),
        vendor_lookup=StructuredTool.from_function(
            coroutine=vendor_lookup,
            name="vendor_lookup",
            args_schema=VendorLookupArgs,
            description="Whether a vendor name matches exactly one registered, active vendor.",
        ),
    )
