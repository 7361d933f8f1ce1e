"""Every payout identifier on a page, however it is printed or disguised."""

from __future__ import annotations

import pytest

from agents.extraction.accounts import MAX_PAYOUT_IDENTIFIERS, scan_payout_identifiers

WALLET = "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed"
OTHER_WALLET = "0x43238A89d4f1C52777f395Aecd47b9F0d961171A"


@pytest.mark.parametrize(
    ("text", "identifiers", "hidden"),
    [
        ("IBAN: AT61 1904 3002 3457 3201\nBIC: BKAUATWW", ("AT611904300234573201",), False),
        ("IBAN AT61 1904 3002\n     3457 3201", ("AT611904300234573201",), False),
        ("IBAN \u202eAT61\u200c1904 3002 3457 3201\u202c", ("AT611904300234573201",), True),
        ("IBAN ＡＴ61 1904 3002 3457 3201", ("AT611904300234573201",), False),
        ("Konto: at61 1904 3002 3457 3201", ("AT611904300234573201",), False),
        (f"pay {WALLET[:20]} {WALLET[20:]}", (WALLET,), False),
        (f"pay {WALLET[:20]}\n   {WALLET[20:]}", (WALLET,), False),
        (f"pay {WALLET[:20]}\u200b{WALLET[20:]}", (WALLET,), True),
        (f"old {OTHER_WALLET} (closed)\nnew {WALLET}", (OTHER_WALLET, WALLET), False),
        ("Reversed \u202e00 0132 7543 2003 4091 16TA\u202c", (), True),
    ],
)
def test_identifiers_are_found(text: str, identifiers: tuple[str, ...], hidden: bool) -> None:
    scan = scan_payout_identifiers(text)
    assert scan.identifiers == identifiers
    assert scan.hidden_characters is hidden


@pytest.mark.parametrize(
    "text",
    [
        "VAT ID: DE123456789\nINVOICE 2025-0012",  # a tax id next to a number on the next line
        "IBAN: AT61 1904 3002 3457 3202",  # one digit off: mod-97 fails
        "IBAN: AT61 1904 3002 3457 32019",  # longer than an Austrian IBAN
        f"tx {WALLET}ab",  # 42 hex digits: a hash, not an address
        f"pay {WALLET[:20]}\n\n{WALLET[20:]}",  # a blank line between is two things, not one wrapped
        "Reference: ab12 3456 7890 1234 5678 90",  # lower-case and no known country
    ],
)
def test_lookalikes_are_not_identifiers(text: str) -> None:
    assert scan_payout_identifiers(text).identifiers == ()


def test_zero_width_far_from_any_identifier_is_not_flagged() -> None:
    text = "Caf\u200be Nord\n\n\n\nIBAN: AT61 1904 3002 3457 3201"
    assert scan_payout_identifiers(text).hidden_characters is False


def test_a_page_of_identifiers_is_read_only_up_to_the_cap() -> None:
    wallets = "\n".join(f"0x{n:040x}" for n in range(1, 5000))
    assert len(scan_payout_identifiers(wallets).identifiers) == MAX_PAYOUT_IDENTIFIERS
