"""Bodies of the dashboard endpoints. The shapes are the original design's: existing clients read them.
Amounts are decimal strings in token units, never floats."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

AlertLevel = Literal["info", "warning", "critical"]


class Alert(BaseModel):
    level: AlertLevel = Field(examples=["warning"])
    code: str = Field(
        description="Stable, machine-readable: chain_unreachable, runway_critical, runway_low, approvals_pending, "
        "approvals_due_soon, payments_stuck, payments_failed.",
        examples=["runway_low"],
    )
    message: str = Field(examples=["runway is 2.40 months, under the 3-month warning line"])


class DashboardOut(BaseModel):
    status: Literal["ok", "warning", "critical"] = Field(
        description="The worst level among the alerts (info alerts leave it ok).", examples=["warning"]
    )
    treasury_balance: str | None = Field(
        description="On-chain token balance of the treasury wallet; null when the chain cannot be reached.",
        examples=["98750.000000"],
    )
    currency: str = Field(description="The fiat currency the stablecoin stands for.", examples=["USD"])
    monthly_burn: str | None = Field(
        description="Settled outflows per 30 days (or the baseline) plus invoices awaiting approval.",
        examples=["25000.000000"],
    )
    runway_months: float | None = Field(
        description="Spendable balance / monthly burn, 2 decimals; null when nothing burns (unlimited) or when "
        "the balance is unknown (see the chain_unreachable alert).",
        examples=[3.95],
    )
    alerts: list[Alert]


class LogEntry(BaseModel):
    timestamp: str = Field(
        description="When the decision was recorded (ISO 8601, UTC).", examples=["2024-03-05T10:15:02.123456+00:00"]
    )
    event: str = Field(description="The step that decided.", examples=["evaluate"])
    balance: str | None = Field(
        description="Treasury balance the policy saw (evaluate rows only).", examples=["100000.000000"]
    )
    status: str = Field(description="The decision's outcome.", examples=["allow"])
    tx_hash: str | None = Field(examples=["0x5c504ed432cb51138bcf09aa5e8a410dd4a1e204ef84bfed1be16dfba1b22060"])
    required: str | None = Field(
        description="The invoice's amount, when the row is about an invoice.", examples=["1250.00"]
    )
    reason: str = Field(examples=["within the per-invoice limit of 5000"])
