"""What every node of the treasurer graph may use, handed in per run as LangGraph's runtime context."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from agents.approvals.dispatch import ApprovalDispatch
from agents.extraction.service import InvoiceExtractor
from finance.chain.client import ChainClient
from finance.payments.service import TokenInfo
from finance.settings import Settings
from tools.payments import PaymentTools
from tools.treasury import TreasuryTools


@dataclass(frozen=True)
class TreasurerContext:
    settings: Settings
    sessions: async_sessionmaker[AsyncSession]
    chain: ChainClient
    token: TokenInfo
    extractor: InvoiceExtractor
    payment_tools: PaymentTools
    treasury_tools: TreasuryTools
    approvals: ApprovalDispatch
