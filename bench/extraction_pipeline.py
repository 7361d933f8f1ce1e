"""The automation rate: how many DEV invoices the real pipeline (LLM extraction -> grounding and cross-check ->
vendor match -> policy -> payment) settles without a person, with an honest and with a lying model.

Each model is the suite's local OpenAI-compatible server (`tests.fixtures.openai_server`) scripted with one answer
per invoice, so nothing leaves the machine. Each currency runs on its own embedded treasury (SQLite + in-process EVM)
whose stablecoin is in that currency, as a company paying euro bills would hold a euro stablecoin; otherwise every
non-USD bill would be "automated" by the currency rule's block. The policy is the starter policy of a company that
has paid these vendors before (new-payee approval off, 5,000 per-invoice limit), and every DEV vendor is registered
and verified with its labelled bank account and a payout address of its own.
"""

from __future__ import annotations

import tempfile
from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import select

from agents.runtime import Treasurer, open_treasurer
from bench.extraction_models import honest_answer, lying_answer
from finance import vendor_changes
from finance.migrations.runner import upgrade_async
from finance.models import InvoiceStatus, Payment, Vendor
from finance.money import to_base_units
from finance.settings import EMBEDDED, Settings
from finance.vendors import VendorRepository, normalize_vendor_name
from tests.fixtures.openai_server import FakeOpenAI, running_openai_server
from tests.fixtures.people import actor
from tests.fixtures.policies import publish_reviewed
from tests.fixtures.vendors import established_vendors_policy

AUTOMATED = (InvoiceStatus.PAID, InvoiceStatus.BLOCKED)


@dataclass
class AutomationRun:
    model: str
    statuses: Counter[str] = field(default_factory=Counter)
    reasons: Counter[str] = field(default_factory=Counter)  # "status: first reason" of each invoice not paid
    wrong_payments: list[str] = field(default_factory=list)
    paid_by_lie: Counter[str] = field(default_factory=Counter)  # lying model: lie kind -> invoices still paid

    @property
    def invoices(self) -> int:
        return sum(self.statuses.values())

    @property
    def automated(self) -> int:
        return sum(self.statuses[status.value] for status in AUTOMATED)


@dataclass(frozen=True)
class _DevVendor:
    name: str
    aliases: tuple[str, ...]
    accounts: tuple[str, ...]
    payout_address: str


def dev_vendors(records: list[dict[str, Any]]) -> dict[str, _DevVendor]:
    """One vendor per labelled seller (keyed by normalised name), with every alias no other seller answers to."""
    names: dict[str, str] = {}
    aliases: dict[str, list[str]] = {}
    accounts: dict[str, set[str]] = {}
    for record in records:
        expected, extra = record.get("expected") or {}, record.get("expected_extra") or {}
        key = normalize_vendor_name(expected["vendor"])
        names.setdefault(key, expected["vendor"])
        aliases.setdefault(key, []).extend(extra.get("vendor_aliases") or [])
        if expected.get("payee_account"):
            accounts.setdefault(key, set()).add(expected["payee_account"])
    taken: Counter[str] = Counter()
    for key, listed in aliases.items():
        taken.update({key, *(normalize_vendor_name(alias) for alias in listed)})
    vendors = {}
    for number, (key, name) in enumerate(sorted(names.items()), start=1):
        # An alias two sellers share ("SELLER TRADE NAME") would make the registry refuse the second one.
        own = {alias for alias in aliases[key] if taken[normalize_vendor_name(alias)] == 1}
        own.discard(name)
        vendors[key] = _DevVendor(name, tuple(sorted(own)), tuple(sorted(accounts.get(key, ()))), f"0x{number:040x}")
    return vendors


async def _register(treasurer: Treasurer, vendors: dict[str, _DevVendor], currency: str) -> dict[str, str]:
    """Register and verify every vendor (one person each step); returns vendor id -> normalised seller name."""
    ids: dict[str, str] = {}
    async with treasurer.sessions.begin() as session:
        await publish_reviewed(session, established_vendors_policy(currency=currency), "bench: established vendors")
        registrar = await actor(session, "registrar@example.com", "ops")
        verifier = await actor(session, "verifier@example.com", "ops")
        repository = VendorRepository(session)
        for key, vendor in vendors.items():
            added = await repository.add(
                vendor.name,
                vendor.payout_address,
                list(vendor.aliases),
                registered_by=registrar,
                known_accounts=list(vendor.accounts),
            )
            await vendor_changes.verify(session, added.id, verifier)
            ids[str(added.id)] = key
    return ids


def _settings(workdir: Path, currency: str, base_url: str) -> Settings:
    return Settings(
        environment="dev",
        database_url=f"sqlite+aiosqlite:///{workdir / 'bench.db'}",
        chain_rpc_url=EMBEDDED,
        token_currency=currency,
        outbox_dir=workdir / "outbox",
        anchor_file=workdir / "anchors.jsonl",
        llm_model="bench-model",
        openai_base_url=base_url,
        llm_max_attempts=1,
        llm_timeout_seconds=10,
    )


async def _run_currency(
    run: AutomationRun,
    fake: FakeOpenAI,
    records: list[tuple[int, dict[str, Any]]],
    vendors: dict[str, _DevVendor],
    currency: str,
) -> None:
    with tempfile.TemporaryDirectory(prefix="treasurer-bench-") as folder:
        settings = _settings(Path(folder), currency, fake.base_url)
        await upgrade_async(settings.database_url)
        async with open_treasurer(settings, bootstrap_chain=True) as treasurer:
            decimals = treasurer.context.token.decimals
            vendor_of = await _register(treasurer, vendors, currency)
            names = sorted(vendors)
            for index, record in records:
                truth = normalize_vendor_name(record["expected"]["vendor"])
                lie = None
                if run.model == "honest":
                    answer = honest_answer(record)
                else:
                    # Always another registered seller: a name the registry will match to a verified vendor.
                    other = vendors[names[(names.index(truth) + 1) % len(names)]].name
                    lie, answer = lying_answer(record, index, other)
                fake.reply_structured(answer)
                invoice_id = await treasurer.submit(record["text"], "bench")
                result = await treasurer.process(invoice_id)
                if fake.pending:
                    raise SystemExit(f"{record['id']}: the model was not asked; the pipeline skipped extraction")
                run.statuses[result.status.value] += 1
                if result.status != InvoiceStatus.PAID:
                    run.reasons[f"{result.status.value}: {_first_reason(result.reason)}"] += 1
                if result.status == InvoiceStatus.PAID and lie is not None:
                    run.paid_by_lie[lie] += 1
                async with treasurer.sessions() as session:
                    payment = await session.scalar(select(Payment).where(Payment.invoice_id == invoice_id))
                    if payment is not None:
                        vendor = await session.get(Vendor, payment.vendor_id)
                        wrong = _wrong_payment(record, payment, vendor, vendor_of, truth, decimals)
                        if wrong:
                            run.wrong_payments.append(f"{record['id']}: {wrong}")


def _wrong_payment(  # the payment, and everything it is checked against
    record: dict[str, Any],
    payment: Payment,
    vendor: Vendor | None,
    vendor_of: dict[str, str],
    truth: str,
    decimals: int,
) -> str | None:
    """Why a payment that left (or is leaving) the treasury is not the one the document asks for, if it is not."""
    total = record["expected"].get("total")
    if vendor is None or vendor_of.get(str(vendor.id)) != truth:
        return f"paid {vendor.name if vendor else payment.vendor_id}, not {record['expected']['vendor']}"
    if total is None or payment.amount_units != to_base_units(Decimal(str(total)), decimals):
        return f"paid {payment.amount_units} base units, the invoice's total is {total}"
    return None


def _first_reason(reason: str | None) -> str:
    # The reason lists every rule that fired; its first clause is enough to see why an invoice was not paid.
    return (reason or "no reason recorded").split(";")[0][:100]


async def automation(records: list[dict[str, Any]], model: str) -> AutomationRun:
    """Run every record that has a labelled vendor through the pipeline with the `model` ("honest" or "lying")."""
    run = AutomationRun(model)
    usable = [(i, r) for i, r in enumerate(records) if (r.get("expected") or {}).get("vendor")]
    vendors = dev_vendors([r for _, r in usable])
    by_currency: dict[str, list[tuple[int, dict[str, Any]]]] = {}
    for index, record in usable:
        by_currency.setdefault(record["expected"].get("currency") or "USD", []).append((index, record))
    with running_openai_server() as fake:
        for currency, group in sorted(by_currency.items()):
            await _run_currency(run, fake, group, vendors, currency)
    return run
