import pytest

from finance.db import create_engine, session_factory
from finance.identity import Actor
from finance.vendors import VendorConflict, VendorRepository, normalize_vendor_name, payee_change

TESTS = Actor.system("tests")
ACME = "0x43238A89d4f1C52777f395Aecd47b9F0d961171A"
GLOBEX = "0xE0674471D93faDcD95eF7Db712f7777Aa65c8Ea7"


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("ACME Hosting GmbH", "Acme Hosting"),
        ("Userpilot, Inc", "Userpilot, Inc."),
        ("Müller & Söhne KG", "Muller and Sohne"),
        ("Globex Sp. z o.o.", "GLOBEX"),
    ],
)
def test_legal_forms_and_punctuation_do_not_matter(a: str, b: str) -> None:
    assert normalize_vendor_name(a) == normalize_vendor_name(b)


async def test_match_by_name_alias_tax_id_and_account(database_url: str) -> None:
    engine = create_engine(database_url)
    async with session_factory(engine).begin() as session:
        vendors = VendorRepository(session)
        acme = await vendors.add(
            "ACME Hosting GmbH",
            ACME,
            ["ACME Cloud"],
            tax_id="DE 123 456 789",
            known_accounts=["DE89 3704 0044 0532 0130 00"],
            registered_by=TESTS,
        )
        globex = await vendors.add("Globex Corporation", GLOBEX, registered_by=TESTS)

        assert await vendors.match_invoice(vendor_name="Acme Cloud", payee_account=None, text="") == acme
        assert await vendors.match_invoice(vendor_name="Globex Corp.", payee_account=None, text="") == globex
        # A misread name, but the registered VAT id is printed on the page.
        text = "ACM3 H0sting\nUSt-IdNr.: DE123456789\nTotal 10 EUR"
        assert await vendors.match_invoice(vendor_name="ACM3 H0sting", payee_account=None, text=text) == acme
        assert await vendors.match_invoice(vendor_name=None, payee_account="DE89370400440532013000", text="") == acme
        assert await vendors.match_invoice(vendor_name="Initech", payee_account=None, text="nothing") is None
    await engine.dispose()


async def test_a_name_another_vendor_answers_to_is_refused(database_url: str) -> None:
    """Two vendors answering to one name would make a bill ambiguous, and "deactivate the real one, register
    mine with its name as an alias" is a known redirect: the registry refuses the second, active or not."""
    engine = create_engine(database_url)
    async with session_factory(engine).begin() as session:
        vendors = VendorRepository(session)
        globex = await vendors.add("Globex Corporation", GLOBEX, registered_by=TESTS)
        with pytest.raises(VendorConflict, match="already a name of vendor Globex Corporation"):
            await vendors.add("Umbrella", ACME, ["Globex"], registered_by=TESTS)
        globex.active = False
        with pytest.raises(VendorConflict):
            await vendors.add("Umbrella", ACME, ["GLOBEX Corp."], registered_by=TESTS)
    await engine.dispose()


async def test_duplicate_names_and_bad_addresses_are_refused(database_url: str) -> None:
    engine = create_engine(database_url)
    async with session_factory(engine).begin() as session:
        vendors = VendorRepository(session)
        await vendors.add("Globex Corporation", GLOBEX, registered_by=TESTS)
        with pytest.raises(VendorConflict, match="already"):
            await vendors.add("GLOBEX CORP", ACME, registered_by=TESTS)
        with pytest.raises(VendorConflict, match="EIP-55"):
            await vendors.add("Typo Ltd", ACME.replace("A", "a", 1), registered_by=TESTS)
        with pytest.raises(VendorConflict, match="not an EVM address"):
            await vendors.add("Nowhere Ltd", "0x1234", registered_by=TESTS)
    await engine.dispose()


async def test_payee_change_detection(database_url: str) -> None:
    engine = create_engine(database_url)
    async with session_factory(engine).begin() as session:
        vendor = await VendorRepository(session).add(
            "ACME Hosting GmbH", ACME, known_accounts=["DE89370400440532013000"], registered_by=TESTS
        )
    await engine.dispose()
    assert payee_change(vendor, None) is None
    assert payee_change(vendor, ACME.lower()) is None
    assert payee_change(vendor, "DE89 3704 0044 0532 0130 00") is None
    assert "not the registered" in payee_change(vendor, GLOBEX)
    assert "not one registered" in payee_change(vendor, "GB82WEST12345698765432")


async def test_payee_change_reads_every_account_on_the_page(database_url: str) -> None:
    engine = create_engine(database_url)
    async with session_factory(engine).begin() as session:
        vendors = VendorRepository(session)
        walleted = await vendors.add("Wallet Only Ltd", ACME, registered_by=TESTS)
        banked = await vendors.add(
            "Banked GmbH", GLOBEX, known_accounts=["DE89370400440532013000"], registered_by=TESTS
        )
    await engine.dispose()
    # A vendor without registered bank accounts is paid only at its wallet: any IBAN is a change.
    assert "no bank account is registered" in payee_change(walleted, "GB82WEST12345698765432")
    assert payee_change(walleted, ACME) is None
    # Not only the account the extractor picked: every one printed counts.
    assert "not the registered" in payee_change(banked, None, page_accounts=[GLOBEX, ACME])
    assert payee_change(banked, "DE89 3704 0044 0532 0130 00", page_accounts=["DE89370400440532013000"]) is None
    both = payee_change(banked, GLOBEX, page_accounts=[GLOBEX, "DE89370400440532013000"])
    assert both == "the invoice shows 2 different payout accounts (" + GLOBEX + ", DE89370400440532013000)"
    assert "invisible" in payee_change(banked, GLOBEX, page_accounts=[GLOBEX], hidden_characters=True)
