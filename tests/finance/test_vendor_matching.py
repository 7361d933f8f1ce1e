"""Identifying the issuer among registered vendors: a vendor's tax id or account on another issuer's page does not
select it, a look-alike name selects it only with a doubt, and a misread name needs its tax id."""

from __future__ import annotations

from finance.models import Vendor
from finance.vendor_matching import identify_issuer
from finance.vendors import normalize_identifier, normalize_vendor_name

ACME = Vendor(
    name="ACME Hosting GmbH",
    normalized_name=normalize_vendor_name("ACME Hosting GmbH"),
    aliases=["ACME Cloud"],
    tax_id="DE123456789",
    known_accounts=["DE89370400440532013000"],
    payout_address="0x43238A89d4f1C52777f395Aecd47b9F0d961171A",
)


def _identify(vendor_name: str | None, text: str = "", account: str | None = None):
    return identify_issuer(
        [ACME],
        vendor_name=vendor_name,
        payee_account=account,
        text=text,
        normalize=normalize_vendor_name,
        normalize_identifier=normalize_identifier,
    )


def test_the_issuers_own_name_matches_without_doubt() -> None:
    match = _identify("Acme Cloud")
    assert match.vendor is ACME and match.doubt is None


def test_another_issuer_printing_the_vendors_tax_id_or_account_is_not_the_vendor() -> None:
    by_tax_id = _identify("Brightside Consulting Ltd", text="Customer VAT: DE 123 456 789")
    assert by_tax_id.vendor is None and "not as registered vendor ACME Hosting GmbH" in (by_tax_id.doubt or "")
    by_account = _identify("Brightside Consulting Ltd", account="DE89370400440532013000")
    assert by_account.vendor is None and "account" in (by_account.doubt or "")


def test_a_misread_name_with_the_tax_id_matches_but_a_person_looks() -> None:
    match = _identify("ACM3 H0sting", text="USt-IdNr.: DE123456789")
    assert match.vendor is ACME and "close to ACME Hosting GmbH" in (match.doubt or "")


def test_an_account_alone_matches_only_with_a_doubt() -> None:
    match = _identify(None, account="DE89370400440532013000")
    assert match.vendor is ACME and "no issuer name was read" in (match.doubt or "")


def test_a_look_alike_name_matches_with_a_doubt() -> None:
    match = _identify("\u0391CME Hosting GmbH")
    assert match.vendor is ACME and "reads like registered vendor ACME Hosting GmbH" in (match.doubt or "")
    whole_script = _identify("\u0410\u0421\u041c\u0415 Hosting")  # Cyrillic А, С, М, Е: not mixed within a word
    assert whole_script.vendor is ACME and whole_script.doubt is not None
