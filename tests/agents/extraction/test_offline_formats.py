"""The printed formats the offline extractor reads: amounts, dates, currencies, IBANs and EVM addresses."""

from __future__ import annotations

import sys
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from agents.extraction.accounts import find_payee_account, is_valid_evm_address, is_valid_iban, to_checksum_address
from agents.extraction.amounts import find_amounts, parse_amount, parse_number
from agents.extraction.currencies import detect_currency
from agents.extraction.dates import find_dates, infer_day_first, parse_date

# --- amounts ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("printed", "expected"),
    [
        ("1,234.56", "1234.56"),
        ("1.234,56", "1234.56"),
        ("1 234,56", "1234.56"),
        ("1\u00a0234,56", "1234.56"),
        ("1'234.56", "1234.56"),
        ("€1,234.56", "1234.56"),
        ("1.234,56 EUR", "1234.56"),
        ("USD 12.00", "12.00"),
        ("$4.11", "4.11"),
        ("£ 2,448.00", "2448.00"),
        ("1.234.567,89", "1234567.89"),
        ("12,50 zł", "12.50"),
        ("CHF 13'458.45", "13458.45"),
        ("-USD 47.90", "-47.90"),
        ("0,025", "0.025"),
        ("316,83 PLN", "316.83"),
    ],
)
def test_amount_forms_parse_to_the_printed_decimal(printed: str, expected: str) -> None:
    assert parse_amount(printed) == Decimal(expected)


@pytest.mark.parametrize(
    ("printed", "decimal_mark", "expected"),
    [
        ("1,234", None, "1234"),  # a lone three-digit group reads as thousands by default
        ("54,910", ",", "54.910"),  # ... unless the document writes its decimals with that mark
        ("1.000", ",", "1000"),
        ("0,025", None, "0.025"),
    ],
)
def test_ambiguous_three_digit_groups_follow_the_documents_decimal_mark(
    printed: str, decimal_mark: str | None, expected: str
) -> None:
    assert parse_number(printed, decimal_mark) == Decimal(expected)  # type: ignore[arg-type]


@pytest.mark.parametrize("text", ["INV-2024-001", "2024-03-05", "05.03.2024", "VAT 19 %", "Tel. 0123/45678"])
def test_identifiers_dates_and_percentages_are_not_amounts(text: str) -> None:
    assert find_amounts(text) == []


def test_amounts_carry_their_currency_marker() -> None:
    found = find_amounts("Total: 1.250,00 € and $12.00 and CHF 5.00 and Rs. 319.00 and 12,00 zł")
    assert [(a.value, a.currency) for a in found] == [
        (Decimal("1250.00"), "EUR"),
        (Decimal("12.00"), "USD"),
        (Decimal("5.00"), "CHF"),
        (Decimal("319.00"), "INR"),
        (Decimal("12.00"), "PLN"),
    ]


_STYLES = {
    "en": lambda i, c: f"{i:,}.{c}",
    "de": lambda i, c: f"{i:,}".replace(",", ".") + f",{c}",
    "fr": lambda i, c: f"{i:,}".replace(",", " ") + f",{c}",
    "fr_nbsp": lambda i, c: f"{i:,}".replace(",", "\u202f") + f",{c}",
    "ch": lambda i, c: f"{i:,}".replace(",", "'") + f".{c}",
    "plain_dot": lambda i, c: f"{i}.{c}",
    "plain_comma": lambda i, c: f"{i},{c}",
}
_WRAPPERS = ["{}", "€{}", "{} EUR", "USD {}", "$ {}", "{} zł", "CHF {}", "£{}"]


@given(
    cents=st.integers(min_value=0, max_value=10**11),
    style=st.sampled_from(sorted(_STYLES)),
    wrapper=st.sampled_from(_WRAPPERS),
)
def test_any_amount_in_any_supported_style_parses_back_to_the_same_decimal(
    cents: int, style: str, wrapper: str
) -> None:
    value = Decimal(cents).scaleb(-2)
    integer, fraction = divmod(cents, 100)
    printed = wrapper.format(_STYLES[style](integer, f"{fraction:02d}"))
    assert parse_amount(printed) == value, printed


# --- dates ------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "printed",
    [
        "2024-03-05",
        "05.03.2024",
        "5.3.2024",
        "05-03-2024",
        "05/03/2024",
        "March 5, 2024",
        "March 5th, 2024",
        "Mar 5, 2024",
        "MAR 5 2024",
        "5 March 2024",
        "5th of March 2024",
        "5 Mar, 2024",
        "5. März 2024",
        "5. Maerz 2024",
        "5 mars 2024",
        "05 Mars 2024",
        "5 maart 2024",
        "5 marca 2024",
        "5 marzec 2024",
        "2024/03/05",
    ],
)
def test_date_forms_in_all_supported_languages(printed: str) -> None:
    assert parse_date(printed, day_first=True) == "2024-03-05"


@pytest.mark.parametrize(
    ("printed", "iso"),
    [
        ("1er juillet 2024", "2024-07-01"),
        ("14 février 2024", "2024-02-14"),
        ("3 févr. 2024", "2024-02-03"),
        ("17 décembre 2024", "2024-12-17"),
        ("1 mei 2024", "2024-05-01"),
        ("1 oktober 2024", "2024-10-01"),
        ("12 Dezember 2024", "2024-12-12"),
        ("30 września 2024", "2024-09-30"),
        ("1 października 2024", "2024-10-01"),
        ("August 3 , 2014", "2014-08-03"),
        ("21.05.14", "2014-05-21"),
    ],
)
def test_month_names_and_short_years(printed: str, iso: str) -> None:
    assert parse_date(printed) == iso


def test_slashed_dates_follow_the_documents_locale() -> None:
    us = "Acme Inc., Seattle, WA 98109, United States\nDate: 03/05/2024\nTotal $10.00"
    eu = "Acme GmbH, 10115 Berlin\nDatum: 03/05/2024\nGesamt 10,00 €"
    assert [d.iso for d in find_dates(us)] == ["2024-03-05"]
    assert [d.iso for d in find_dates(eu)] == ["2024-05-03"]


def test_an_unambiguous_slashed_date_settles_the_locale() -> None:
    assert infer_day_first("Paid $5.00 on 31/08/2022, next 03/09/2022") is True
    assert infer_day_first("Paid €5.00 on 08/31/2022, next 09/03/2022") is False


def test_a_date_range_without_years_is_not_a_date() -> None:
    assert [d.iso for d in find_dates("Apr 28 – May 28, 2023")] == ["2023-05-28"]
    assert find_dates("Room 12.5 and 31.02.2024") == []  # 31 February does not exist


# --- currencies -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("Total $12.00", "USD"),
        ("Total €12.00", "EUR"),
        ("Total £12.00", "GBP"),
        ("Razem 12,00 zł", "PLN"),
        ("Total ₹1,200.00", "INR"),
        ("Price is inclusive of discount of Rs -40.00", "INR"),
        ("Total CHF 12.00", "CHF"),
        ("Total Fr. 12.00", "CHF"),
        ("Total ¥1200", "JPY"),
        ("Celkem 120 Kč", "CZK"),
        ("Total CA$12.00", "CAD"),
        ("Total $12.00 CAD", "CAD"),
        ("All charges and prices are in US Dollars", "USD"),
        ("Payment should be made in euros", "EUR"),
        ("Währung: GBP\nTotal 12,00 €", "GBP"),  # an explicit currency field beats the symbols
    ],
)
def test_currency_from_symbols_codes_and_words(text: str, code: str) -> None:
    found = detect_currency(text)
    assert found is not None and found.code == code


def test_no_currency_marker_means_no_currency() -> None:
    assert detect_currency("Invoice 42, total 12.00") is None


# --- IBAN -------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "iban",
    [
        "DE89370400440532013000",
        "DE89 3704 0044 0532 0130 00",
        "GB82WEST12345698765432",
        "NL91ABNA0417164300",
        "FR1420041010050500013M02606",
        "PL61109010140000071219812874",
        "CH9300762011623852957",
        "BE68539007547034",
    ],
)
def test_valid_ibans_pass_mod_97(iban: str) -> None:
    assert is_valid_iban(iban)


@pytest.mark.parametrize(
    "iban",
    [
        "DE89370400440532013001",  # one digit off
        "DE98370400440532013000",  # swapped check digits
        "GB82WEST12345698765433",
        "DE8937040044053201300",  # too short for Germany
        "NL91ABNA04171643001",  # too long for the Netherlands
        "XX00",
    ],
)
def test_invalid_ibans_are_rejected(iban: str) -> None:
    assert not is_valid_iban(iban)


def test_an_iban_with_a_bad_checksum_is_never_reported_as_the_payee_account() -> None:
    assert find_payee_account("IBAN: DE89 3704 0044 0532 0130 01") is None


def test_the_customers_debit_account_is_not_the_payee_account() -> None:
    text = "Der Betrag wird per Lastschrift von Ihrem Konto DE89 3704 0044 0532 0130 00 eingezogen."
    assert find_payee_account(text) is None


def test_a_grouped_iban_is_cut_at_its_country_length() -> None:
    found = find_payee_account("IBAN DE89 3704 0044 0532 0130 00 BIC COBADEFFXXX")
    assert found is not None and found.value == "DE89370400440532013000"


def test_a_labelled_domestic_account_next_to_bank_details() -> None:
    found = find_payee_account("Bank: Barclays  Sort code: 20-00-00  Account number: 55779911")
    assert found is not None and (found.value, found.kind) == ("55779911", "bank_account")


def test_a_customer_number_is_not_a_bank_account() -> None:
    assert find_payee_account("Account number: 296664039561\nThank you for using our cloud") is None


# --- EIP-55 -----------------------------------------------------------------------------------------------------

# The test vectors of EIP-55 itself.
_EIP55_VECTORS = [
    "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed",
    "0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359",
    "0xdbF03B407c01E7cD3CBea99509d93f8DDDC8C6FB",
    "0xD1220A0cf47c7B9Be7A2E6BA89F429762e7b9aDb",
]


@pytest.mark.parametrize("address", _EIP55_VECTORS)
def test_eip55_checksummed_addresses_are_valid(address: str) -> None:
    assert is_valid_evm_address(address)
    assert to_checksum_address(address.lower()) == address


@pytest.mark.parametrize("address", _EIP55_VECTORS)
def test_eip55_wrong_case_is_rejected(address: str) -> None:
    body = address[2:]
    index = next(i for i, ch in enumerate(body) if ch.isalpha())
    flipped = body[:index] + body[index].swapcase() + body[index + 1 :]
    assert not is_valid_evm_address("0x" + flipped)


def test_single_case_addresses_carry_no_checksum_and_are_accepted() -> None:
    assert is_valid_evm_address(_EIP55_VECTORS[0].lower())
    assert not is_valid_evm_address("0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeA")  # 19 bytes


def test_eip55_without_eth_utils_uses_eth_hash(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "eth_utils", None)  # makes `import eth_utils` raise ImportError
    for address in _EIP55_VECTORS:
        assert to_checksum_address(address.lower()) == address


def test_payee_wallet_address_is_returned_checksummed() -> None:
    found = find_payee_account("Pay in USDC to wallet 0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed")
    assert found is not None and (found.value, found.kind) == (_EIP55_VECTORS[0], "evm")


def test_a_mistyped_wallet_address_is_not_a_payee_account() -> None:
    assert find_payee_account("Pay in USDC to wallet 0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAeD") is None
