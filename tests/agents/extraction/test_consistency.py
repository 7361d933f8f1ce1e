"""The page checked against itself: each check on invoices written for these tests, honest and forged."""

from __future__ import annotations

from decimal import Decimal

import pytest

from agents.extraction.consistency import check_consistency, is_consistency_flag
from agents.extraction.number_words import find_words_amounts, parse_number_words
from agents.extraction.offline import extract_offline


def _flags(text: str) -> list[str]:
    return check_consistency(text, extract_offline(text))


def _bill(rows: str, totals: str, title: str = "INVOICE", extra: str = "") -> str:
    return f"""Harbor Lantern Studio Ltd
7 Quay Lane, Leith

{title}

Invoice No: HL-3391
Invoice date: 2025-06-02

Description                         Qty   Unit price      Amount
{rows}

{totals}
{extra}"""


HONEST_ROWS = """Lighting design, phase 1             1       500.00      500.00
Site visits                          2       125.00      250.00"""


def test_an_honest_invoice_raises_nothing() -> None:
    text = _bill(HONEST_ROWS, "Subtotal:        750.00\nVAT 20%:          150.00\nTotal:    USD    900.00")
    assert _flags(text) == []
    assert _flags(_bill(HONEST_ROWS, "Total: USD 750.00")) == []


@pytest.mark.parametrize(
    ("totals", "words"),
    [
        ("Total: USD 4,750.00", "sum to 750.00 but the total is 4,750.00"),  # total far above the lines
        ("Total: USD 4,950.00", "the lines fall short"),
        ("Subtotal: 750.00\nTax: 90.00\nTotal: USD 4,840.00", "sum to 750.00"),  # tax does not explain it
    ],
)
def test_lines_that_do_not_add_up_to_the_total(totals: str, words: str) -> None:
    flags = _flags(_bill(HONEST_ROWS, totals))
    assert [f for f in flags if f.startswith("inconsistent:lines_vs_total:")], flags
    assert words in " ".join(flags)


def test_lines_above_the_total_are_flagged_and_a_printed_discount_explains_them() -> None:
    rows = """Annual licence                       1     3,200.00    3,200.00
Onboarding workshop                  1     2,600.00    2,600.00"""
    flags = _flags(_bill(rows, "Total due: USD 4,990.00"))
    assert any(f.startswith("inconsistent:lines_vs_total:") and "exceed" in f for f in flags), flags
    assert _flags(_bill(rows, "Loyalty discount:   -810.00\nTotal: USD 4,990.00")) == []


def test_one_cent_per_line_of_rounding_is_tolerated() -> None:
    assert _flags(_bill(HONEST_ROWS, "Total: USD 750.02")) == []
    assert _flags(_bill(HONEST_ROWS, "Total: USD 750.03"))


def test_a_second_grand_total_far_down_the_page_is_flagged() -> None:
    honest = _bill(HONEST_ROWS, "Grand total: USD 750.00")
    padding = "\n".join(f"Terms clause {i}: services are provided as described in the order form." for i in range(450))
    text = honest + "\n" + padding + "\n\nGrand total: USD 4,750.00\n"
    assert len(text) > 30_000
    flags = _flags(text)
    assert any(f.startswith("inconsistent:several_totals:") and "4,750.00" in f and "750.00" in f for f in flags)


def test_a_total_row_with_net_tax_and_gross_is_one_total() -> None:
    text = _bill(HONEST_ROWS, "Total        750.00     150.00     900.00\nAmount due:  900.00")
    assert not [f for f in _flags(text) if "several_totals" in f]


def test_an_amount_due_below_the_total_is_a_prepayment_not_a_second_total() -> None:
    text = _bill(HONEST_ROWS, "Total: USD 750.00\nDeposit paid: 250.00\nAmount due: USD 500.00")
    assert not [f for f in _flags(text) if "several_totals" in f]


@pytest.mark.parametrize(
    ("phrase", "value"),
    [
        ("four thousand nine hundred eighty", 4980),
        ("nine hundred and ninety-nine", 999),
        ("one million two hundred thousand", 1_200_000),
        ("viertausendneunhundertachtzig", 4980),
        ("zweihunderteinundvierzig", 241),
        ("quatre mille neuf cent quatre-vingt-dix", 4990),
        ("soixante-dix-sept", 77),
        ("drieduizend tweehonderd vijftig", 3250),
        ("dwa tysiące trzysta czterdzieści", 2340),
        ("thirty days", None),
        ("", None),
    ],
)
def test_number_words(phrase: str, value: int | None) -> None:
    assert parse_number_words(phrase) == value


def test_words_are_read_only_when_labelled_or_followed_by_a_currency() -> None:
    assert find_words_amounts("Payment within thirty days; one dollar fee per reminder.") == []
    [amount] = find_words_amounts("Amount in words: two thousand and five dollars and 40/100")
    assert amount.value == Decimal("2005.40") and amount.cents_given
    [amount] = find_words_amounts("Betrag in Worten: dreitausend Euro")
    assert amount.value == 3000 and not amount.cents_given


def test_amount_in_words_disagreeing_with_the_digits() -> None:
    rows = "Survey drones, rental                1     4,890.00    4,890.00"
    forged = _bill(rows, "Total: USD 4,890.00", extra="Amount in words: four thousand nine hundred eighty dollars")
    assert any(f.startswith("inconsistent:words_vs_digits:") and "4,980.00" in f for f in _flags(forged))
    honest = _bill(rows, "Total: USD 4,890.00", extra="Amount in words: four thousand eight hundred ninety dollars")
    assert _flags(honest) == []


def test_french_words_agreeing_with_the_digits() -> None:
    text = """Atelier Brume SARL
FACTURE
Facture n° AB-77
Date de facture : 03/02/2025
Total TTC : 1 280,00 EUR
Arrêtée la présente facture à la somme de : mille deux cent quatre-vingts euros
"""
    assert _flags(text) == []


@pytest.mark.parametrize("printed", ["4.950", "4,950"])
def test_an_ambiguous_total_with_nothing_to_settle_the_mark(printed: str) -> None:
    text = f"Quarry Supplies Co\nInvoice No: Q-12\nInvoice date: 2025-03-01\nGravel, 3 loads\nTotal: USD {printed}\n"
    flags = _flags(text)
    assert any(f.startswith("ambiguous:total:") and "4,950.00" in f and "4.95" in f for f in flags), flags


def test_an_amount_with_cents_elsewhere_settles_the_mark() -> None:
    text = "Quarry Supplies Co\nInvoice No: Q-12\nDelivery fee: 12.50\nTotal: USD 4,950\n"
    assert not [f for f in _flags(text) if f.startswith("ambiguous:")]


@pytest.mark.parametrize(
    ("title", "kind"),
    [
        ("CREDIT NOTE", "credit_note"),
        ("Credit note No. CN-4", "credit_note"),
        ("Gutschrift Nr. 2025-17", "credit_note"),
        ("AVOIR N° A-203", "credit_note"),
        ("Creditnota 88", "credit_note"),
        ("Nota kredytowa nr 5/2025", "credit_note"),
        ("CORRECTED INVOICE", "correction"),
        ("Rechnungskorrektur zur Rechnung 4411", "correction"),
        ("Facture rectificative", "correction"),
        ("Faktura korygująca nr 3", "correction"),
        ("Payment reminder", "reminder"),
        ("2. Mahnung", "reminder"),
        ("Aanmaning", "reminder"),
        ("Wezwanie do zapłaty", "reminder"),
    ],
)
def test_document_kinds(title: str, kind: str) -> None:
    flags = _flags(_bill(HONEST_ROWS, "Total: USD 750.00", title=title))
    assert [f.split(":")[1] for f in flags if f.startswith("document_kind:")] == [kind], flags


@pytest.mark.parametrize(
    "sentence",
    [
        "This is a friendly reminder that we value your business.",
        "Pour avoir accès à votre espace client, connectez-vous.",
        "Paid by credit card ending 4242.",
        "Gutschriften werden mit der nächsten Rechnung verrechnet.",
    ],
)
def test_kind_words_in_a_sentence_are_not_a_title(sentence: str) -> None:
    assert _flags(_bill(HONEST_ROWS, "Total: USD 750.00", extra=sentence)) == []


def test_flags_are_recognisable() -> None:
    assert is_consistency_flag("inconsistent:lines_vs_total: x")
    assert is_consistency_flag("document_kind:credit_note: x")
    assert not is_consistency_flag("ungrounded:total")
