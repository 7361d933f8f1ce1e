"""Grounding: values printed in any notation are found; values not printed are dropped and flagged."""

from __future__ import annotations

import ast
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agents.extraction.amounts import parse_amount
from agents.extraction.dates import parse_date
from agents.extraction.grounding import cross_check, ground
from agents.extraction.offline import extract_offline
from agents.extraction.schemas import FieldEvidence, InvoiceFields, LineItem

ROOT = Path(__file__).resolve().parents[3]
IBAN = "DE89370400440532013000"
EVM = "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed"


def _grounded(field: str, value: Any, text: str) -> bool:
    report = ground(InvoiceFields(**{field: value}), text)
    return getattr(report.fields, field) is not None and not report.flags


@pytest.mark.parametrize(
    ("field", "value", "text"),
    [
        ("total", Decimal("1250"), "Total: 1,250.00 EUR"),
        ("total", Decimal("1250.00"), "Summe: 1.250,00 €"),
        ("total", Decimal("1250.00"), "Amount due 1250"),
        ("total", Decimal("1250.00"), "Razem: 1 250,00 zł"),
        ("total", Decimal("1250.00"), "Total due: €1,250.00"),
        ("total", Decimal("1250.00"), "Total CHF 1'250.00"),
        ("total", Decimal("-47.90"), "Credit note total: -47.90 USD"),
        ("issue_date", "2024-03-05", "Date: 5 March 2024"),
        ("issue_date", "2024-03-05", "Datum: 05.03.2024"),
        ("issue_date", "2024-03-05", "Datum: 5. März 2024"),
        ("issue_date", "2024-03-05", "Date: March 5th, 2024"),
        ("issue_date", "2024-03-05", "Date: 2024/03/05"),
        ("issue_date", "2024-03-05", "Seattle, WA 98109\nDate: 03/05/2024\nTotal $12.00"),  # US: month first
        ("issue_date", "2024-03-05", "Date de facture : 5 mars 2024"),
        ("payee_account", IBAN, "IBAN: DE89 3704 0044 0532 0130 00"),
        ("payee_account", IBAN, "iban de89370400440532013000 bic COBADEFFXXX"),
        ("payee_account", EVM, "USDC wallet: 0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed"),
        ("payee_account", "1234567890", "Account no. 12-3456-7890"),
        ("invoice_number", "INV-2024-001", "Invoice No: inv-2024-001"),
        ("invoice_number", "NW 778", "Invoice #NW778"),
        ("invoice_number", "RE2024/0815", "Rechnung Nr. RE 2024/0815"),
        ("vendor", "ACME Hosting GmbH", "acme   hosting\nGMBH\nMain street 1"),
        ("vendor", "ACME Hosting GmbH", "From: ACME Hosting - hosting since 1999"),
        ("vendor", "Northwind Traders, Ltd.", "Northwind Traders\nInvoice 12"),
        ("currency", "EUR", "Total: 12,00 €"),
        ("currency", "EUR", "All amounts in euros"),
        ("currency", "USD", "Total: $12.00"),
        ("currency", "GBP", "Currency: GBP"),
    ],
)
def test_values_printed_in_another_notation_are_grounded(field: str, value: Any, text: str) -> None:
    assert _grounded(field, value, text)


@pytest.mark.parametrize(
    ("field", "value", "text"),
    [
        ("total", Decimal("1250.00"), "Total: 1,205.00 EUR"),
        ("total", Decimal("125.00"), "Total: 1,250.00 EUR"),
        ("total", Decimal("1250.00"), "Total: -1,250.00 EUR"),  # the sign is part of the amount
        ("total", Decimal("1.25"), "Summe: 1.250,00 €, Netto 1.000,00 €"),
        ("issue_date", "2024-03-06", "Date: 5 March 2024"),
        ("issue_date", "2024-05-03", "Seattle, WA 98109\nDate: 03/05/2024\nTotal $12.00"),
        ("payee_account", IBAN, "IBAN: DE89 3704 0044 0532 0130 01"),
        ("payee_account", IBAN, "IBAN: DE89 3704 0044 0532 0130 0012"),  # a longer number is another account
        ("payee_account", EVM, "Pay to 0x0000000000000000000000000000000000000001"),
        ("invoice_number", "INV-2024-002", "Invoice No: INV-2024-001"),
        ("invoice_number", "778", "Invoice #NW-778"),  # a fragment is not the number
        ("vendor", "Evil Corp", "ACME Hosting GmbH"),
        ("vendor", "Acme Ltd", "Acmeson Holdings"),
        ("vendor", "Co GmbH", "Co. Operative GmbH"),  # less its legal form, too short to prove anything
        ("currency", "GBP", "Total: $12.00"),
        ("currency", "USD", "Total 12.00, VAT 2.00"),
    ],
)
def test_values_not_printed_are_rejected(field: str, value: Any, text: str) -> None:
    report = ground(InvoiceFields(**{field: value}), text)
    assert getattr(report.fields, field) is None
    assert report.flags == [f"ungrounded:{field}"]


def test_ungrounded_values_are_dropped_and_the_rest_gets_evidence(invoice_text: str) -> None:
    invented = InvoiceFields(
        vendor="ACME Hosting GmbH",
        invoice_number="INV-2024-001",
        issue_date="2024-03-05",
        due_date="2024-05-01",  # invented
        total=Decimal("99999.00"),  # invented
        currency="EUR",
        payee_account=EVM,  # invented
        evidence={"total": FieldEvidence(confidence=0.99, span=(0, 5))},
    )
    report = ground(invented, invoice_text)

    assert report.flags == ["ungrounded:due_date", "ungrounded:total", "ungrounded:payee_account"]
    assert not report.grounded
    fields = report.fields
    assert (fields.due_date, fields.total, fields.payee_account) == (None, None, None)
    assert set(fields.evidence) == {"vendor", "invoice_number", "issue_date", "currency"}
    spans = {name: invoice_text[slice(*ev.span)] for name, ev in fields.evidence.items()}
    assert spans == {
        "vendor": "ACME Hosting GmbH",
        "invoice_number": "INV-2024-001",
        "issue_date": "5 March 2024",
        "currency": "EUR",
    }


def test_the_extractors_own_span_and_confidence_are_kept(invoice_text: str) -> None:
    offline = extract_offline(invoice_text)
    report = ground(offline, invoice_text)
    assert report.flags == []
    assert report.fields.evidence == offline.evidence
    total = report.fields.evidence["total"]
    assert parse_amount(invoice_text[slice(*total.span)]) == Decimal("1250.00")


def test_total_span_prefers_the_last_printing() -> None:
    text = "Hosting   1,250.00\n\nTotal: 1,250.00 EUR\n"
    report = ground(InvoiceFields(total=Decimal("1250")), text)
    assert report.fields.evidence["total"].span == (text.index("1,250.00 EUR"), len(text) - 1)


@pytest.mark.parametrize(
    ("text", "due", "grounded"),
    [
        ("Invoice date: 05.03.2024\nPayment terms: net 30 days", "2024-04-04", True),
        ("Invoice date: 05.03.2024\nZahlbar innerhalb von 14 Tagen", "2024-03-19", True),
        ("Invoice date: 05.03.2024\nPayment terms: net 30 days", "2024-04-05", False),
        ("Invoice date: 05.03.2024\n2% discount within 10 days", "2024-03-15", False),
        ("Invoice date: 05.03.2024\nDue upon receipt", "2024-03-05", True),
    ],
)
def test_a_due_date_may_follow_from_printed_terms(text: str, due: str, grounded: bool) -> None:
    report = ground(InvoiceFields(issue_date="2024-03-05", due_date=due), text)
    assert (report.fields.due_date == due) is grounded
    if grounded:
        assert report.fields.evidence["due_date"].span is not None


def test_invented_line_items_are_dropped(invoice_text: str) -> None:
    items = [
        LineItem(description="Web hosting, March", quantity="1", unit_price="1,200.00", amount="1200.00"),
        LineItem(description="Support hours", quantity="2", unit_price="25.00", amount="50.00"),
        LineItem(description="Priority consulting", amount="5000.00"),
        LineItem(description="Support hours", amount="75.00"),
    ]
    report = ground(InvoiceFields(line_items=items), invoice_text)
    assert [item.description for item in report.fields.line_items] == ["Web hosting, March", "Support hours"]
    assert report.flags == ["ungrounded:line_items"]


@pytest.mark.parametrize(
    "style", ["plain", "english", "german", "french", "swiss", "symbol_first", "code_after"], ids=str
)
@settings(max_examples=40, deadline=None)
@given(cents=st.integers(min_value=1, max_value=10**11))
def test_any_notation_of_the_same_amount_grounds_and_no_other_amount_does(style: str, cents: int) -> None:
    value = Decimal(cents) / 100
    integer, fraction = f"{value:.2f}".split(".")
    groups = f"{int(integer):,}"
    printed = {
        "plain": f"{integer}.{fraction}",
        "english": f"{groups}.{fraction}",
        "german": f"{groups.replace(',', '.')},{fraction}",
        "french": f"{groups.replace(',', ' ')},{fraction}",
        "swiss": groups.replace(",", "'") + f".{fraction}",
        "symbol_first": f"€{groups}.{fraction}",
        "code_after": f"{groups.replace(',', '.')},{fraction} EUR",
    }[style]
    text = f"Invoice from ACME\nTotal due: {printed}\n"  # no other number that could match
    assert _grounded("total", value, text), printed
    assert not _grounded("total", value + Decimal("0.01"), text), printed


@settings(max_examples=60, deadline=None)
@given(day=st.dates(min_value=date(1995, 1, 1), max_value=date(2090, 12, 31)))
def test_any_written_form_of_the_same_day_grounds(day: date) -> None:
    forms = [day.strftime("%d.%m.%Y"), day.strftime("%Y-%m-%d"), f"{day.day} {day.strftime('%B %Y')}"]
    for form in forms:
        assert parse_date(form) == day.isoformat()
        assert _grounded("issue_date", day.isoformat(), f"Invoice date: {form}\n"), form


def _invoice_texts() -> list[str]:
    texts = [path.read_text() for path in sorted((ROOT / "api" / "samples").glob("*.txt"))]
    for name in ("test_offline.py", "test_offline_formats.py"):
        tree = ast.parse((Path(__file__).parent / name).read_text())
        texts += [n.value for n in ast.walk(tree) if isinstance(n, ast.Constant) and str(n.value).count("\n") >= 3]
    return texts


def test_offline_readings_pass_their_own_safety_net() -> None:
    # Grounding runs on offline results too; it must not cry wolf on what the rules read from the page.
    texts = _invoice_texts()
    assert len(texts) >= 10
    for text in texts:
        assert ground(extract_offline(text), text).flags == [], text[:80]


@pytest.mark.parametrize(
    ("llm", "offline", "flags"),
    [
        ({"total": Decimal("1250.00"), "currency": "EUR"}, {"total": Decimal("1250"), "currency": "EUR"}, []),
        ({"total": Decimal("1205.00"), "currency": "EUR"}, {"total": Decimal("1250"), "currency": "EUR"}, ["total"]),
        ({"total": Decimal("1250"), "currency": "USD"}, {"total": Decimal("1250"), "currency": "EUR"}, ["currency"]),
        ({"total": None, "currency": "EUR"}, {"total": Decimal("1250"), "currency": None}, ["total", "currency"]),
        ({"payee_account": IBAN}, {"payee_account": EVM}, ["payee_account"]),
        # What identifies the bill and its issuer must agree too, when both readings found it...
        ({"vendor": "ACME", "invoice_number": "1"}, {"vendor": "Acme GmbH", "invoice_number": "2"}, ["invoice_number"]),
        ({"invoice_number": "HCS-2024-117"}, {"invoice_number": "hcs 2024 117"}, []),
        ({"issue_date": "2024-03-05"}, {"issue_date": "2024-03-01"}, ["issue_date"]),
        ({"vendor": "Globex Corporation"}, {"vendor": "Initech LLC"}, ["vendor"]),
        # ...but a value only the model found is not a disagreement: grounding already checked it is printed.
        ({"invoice_number": "PO-7", "issue_date": "2024-03-05"}, {"invoice_number": None, "issue_date": None}, []),
    ],
)
def test_cross_check_flags_disagreement_on_money_and_identity_fields(
    llm: dict[str, Any], offline: dict[str, Any], flags: list[str]
) -> None:
    assert cross_check(InvoiceFields(**llm), InvoiceFields(**offline)) == [f"disagreement:{f}" for f in flags]
