"""Where the money goes: IBANs (mod-97), other bank account numbers, and EVM addresses (EIP-55).

A payee account is only ever reported when its own checksum holds, because a typo'd or OCR-mangled account
pays a stranger. Invalid-looking accounts are dropped, not "repaired".
"""

from __future__ import annotations

import heapq
import re
import unicodedata
from bisect import bisect_right
from collections.abc import Iterator
from dataclasses import dataclass

# IBAN lengths per country (SWIFT IBAN registry). Knowing the length lets an IBAN printed in groups be cut off
# exactly where the next column starts.
IBAN_LENGTHS: dict[str, int] = {
    "AD": 24, "AE": 23, "AL": 28, "AT": 20, "AZ": 28, "BA": 20, "BE": 16, "BG": 22, "BH": 22, "BR": 29,
    "BY": 28, "CH": 21, "CR": 22, "CY": 28, "CZ": 24, "DE": 22, "DK": 18, "DO": 28, "EE": 20, "EG": 29,
    "ES": 24, "FI": 18, "FO": 18, "FR": 27, "GB": 22, "GE": 22, "GI": 23, "GL": 18, "GR": 27, "GT": 28,
    "HR": 21, "HU": 28, "IE": 22, "IL": 23, "IQ": 23, "IS": 26, "IT": 27, "JO": 30, "KW": 30, "KZ": 20,
    "LB": 28, "LC": 32, "LI": 21, "LT": 20, "LU": 20, "LV": 21, "MC": 27, "MD": 24, "ME": 22, "MK": 19,
    "MR": 27, "MT": 31, "MU": 30, "NL": 18, "NO": 15, "PK": 24, "PL": 28, "PS": 29, "PT": 25, "QA": 29,
    "RO": 24, "RS": 22, "SA": 24, "SC": 31, "SE": 24, "SI": 19, "SK": 24, "SM": 27, "ST": 25, "SV": 28,
    "TL": 23, "TN": 24, "TR": 26, "UA": 29, "VA": 22, "VG": 24, "XK": 20,
}  # fmt: skip

# Letters and digits, optionally in groups separated by single spaces (two spaces would be a column gap).
_IBAN_RE = re.compile(r"(?<![A-Za-z0-9])[A-Z]{2}\d{2}(?:[ ]?[A-Z0-9]){8,32}(?![a-z])")
_EVM_RE = re.compile(r"(?<![0-9A-Za-z])0x[0-9a-fA-F]{40}(?![0-9A-Za-z])")
# Bank account numbers that are not IBANs only count next to a bank-account label; bare digits are
# customer numbers, phone numbers and references far more often.
_ACCOUNT_LABEL_RE = re.compile(
    r"(?:bank\s*account(?:\s*(?:no\.?|number|#))?|account\s*(?:no\.?|number|#)|a/c\s*(?:no\.?)?"
    r"|kontonummer|konto-?nr\.?|kto\.?-?nr\.?|rekeningnummer|rekeningnr\.?|n(?:ume)?r\.?\s*(?:konta|rachunku)"
    r"|num[ée]ro\s*de\s*compte)\s*[:#]?\s*",
    re.IGNORECASE,
)
_BANK_CONTEXT_RE = re.compile(r"\b(?:bank|BIC|SWIFT|sort\s*code|routing|ABA|BLZ|Bankverbindung)\b", re.IGNORECASE)
_PAYEE_CONTEXT_RE = re.compile(
    r"pay(?:ment)?\s*(?:to|details|information)|remit|beneficiary|bank|IBAN|überweis|ueberweis|Kontoname"
    r"|Zahlungsempf|Bankverbindung|virement|betaling|overmaken|przelew|wallet|USDC|USDT|stablecoin",
    re.IGNORECASE,
)
# Context of the customer's own account, which the vendor will debit: never the account to pay into.
_DEBIT_CONTEXT_RE = re.compile(
    r"pr[ée]lev|lastschrift|abbuch|eingezogen|direct\s*debit|debited|your\s*account|ihr(?:em)?\s*konto"
    r"|votre\s*compte|incasso|machtiging|polecenie\s*zap",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class AccountFound:
    value: str  # IBAN without spaces, bank account digits, or an EIP-55 checksummed address
    kind: str  # "iban" | "bank_account" | "evm"
    span: tuple[int, int]
    confidence: float


def is_valid_iban(candidate: str) -> bool:
    """ISO 13616 check: known country length (when known) and mod-97 of the rearranged number equals 1."""
    iban = re.sub(r"\s", "", candidate).upper()
    if not re.fullmatch(r"[A-Z]{2}\d{2}[A-Z0-9]{11,30}", iban):
        return False
    expected = IBAN_LENGTHS.get(iban[:2])
    if expected is not None and len(iban) != expected:
        return False
    rearranged = iban[4:] + iban[:4]
    return int("".join(str(int(ch, 36)) for ch in rearranged)) % 97 == 1


def _keccak256(data: bytes) -> bytes:
    try:
        from eth_utils import keccak
    except ImportError:  # eth_utils is a heavier dependency than the hash itself
        from eth_hash.auto import keccak
    return keccak(data)


def to_checksum_address(address: str) -> str:
    """EIP-55: uppercase each hex letter whose nibble in keccak256(lowercase address) is 8 or more."""
    try:
        from eth_utils import to_checksum_address as eth_checksum
    except ImportError:
        body = address[2:].lower()
        digest = _keccak256(body.encode("ascii")).hex()
        return "0x" + "".join(ch.upper() if int(digest[i], 16) >= 8 else ch for i, ch in enumerate(body))
    return str(eth_checksum(address))


def is_valid_evm_address(address: str) -> bool:
    """A 20-byte hex address; mixed case must be the exact EIP-55 checksum (all-lower/upper carry none)."""
    if not re.fullmatch(r"0x[0-9a-fA-F]{40}", address):
        return False
    body = address[2:]
    if body == body.lower() or body == body.upper():
        return True
    return to_checksum_address(address) == address


def _iban_at(text: str, match: re.Match[str]) -> AccountFound | None:
    """The valid IBAN that starts at this match, trimmed to its country's length."""
    printed = match.group()
    compact_positions = [i for i, ch in enumerate(printed) if ch != " "]
    compact = printed.replace(" ", "")
    country_length = IBAN_LENGTHS.get(compact[:2])
    lengths = [country_length] if country_length else range(min(len(compact), 34), 14, -1)
    for length in lengths:
        if length <= len(compact) and is_valid_iban(compact[:length]):
            end = match.start() + compact_positions[length - 1] + 1
            # Digits that continue past the country length mean this is a different, longer number.
            if length < len(compact) and end < match.end() and text[end] != " ":
                return None
            return AccountFound(compact[:length], "iban", (match.start(), end), 0.9)
    return None


def _labelled_bank_accounts(text: str) -> list[AccountFound]:
    found: list[AccountFound] = []
    for label in _ACCOUNT_LABEL_RE.finditer(text):
        number = re.match(r"\d(?:[ \-]?\d){5,33}", text[label.end() : label.end() + 60])
        if not number:
            continue
        digits = re.sub(r"[ \-]", "", number.group())
        start = label.end()
        if len(digits) == 26 and is_valid_iban("PL" + digits):
            confidence = 0.8  # a Polish NRB: an IBAN without its country code, checksum verified
        else:
            window = text[max(0, label.start() - 200) : label.end() + 200]
            if not _BANK_CONTEXT_RE.search(window):
                continue
            confidence = 0.55
        found.append(AccountFound(digits, "bank_account", (start, start + len(number.group())), confidence))
    return found


def _context_score(text: str, start: int) -> int:
    before = text[max(0, start - 160) : start]
    score = 0
    if _PAYEE_CONTEXT_RE.search(before):
        score += 1
    if _DEBIT_CONTEXT_RE.search(before):
        score -= 2
    return score


def find_payee_account(text: str) -> AccountFound | None:
    """The account the invoice asks to be paid into, if one is printed and checks out."""
    candidates: list[tuple[int, AccountFound]] = []
    for match in _EVM_RE.finditer(text):
        if is_valid_evm_address(match.group()):
            account = AccountFound(to_checksum_address(match.group()), "evm", match.span(), 0.9)
            # The treasurer pays in a stablecoin: an address printed for payment is the most direct route.
            candidates.append((_context_score(text, match.start()) + 1, account))
    for match in _IBAN_RE.finditer(text):
        account = _iban_at(text, match)
        if account is not None:
            candidates.append((_context_score(text, match.start()), account))
    ibans = {account.value[4:] for _, account in candidates if account.kind == "iban"}
    for account in _labelled_bank_accounts(text):
        # A domestic number printed next to the IBAN is the same account: the IBAN says it with a checksum.
        if not any(account.value in iban for iban in ibans):
            # Listed after the IBANs, so an IBAN wins a tie: it carries its own checksum.
            candidates.append((_context_score(text, account.span[0]), account))
    viable = [(score, account) for score, account in candidates if score >= 0]
    if not viable:
        return None
    best_score = max(score for score, _ in viable)
    return next(account for score, account in viable if score == best_score)


# --- every payout identifier on the page -------------------------------------------------------------------------
# Direction overrides and isolates reorder what a reader sees ("DE89…" can display as another number), and
# zero-width characters split an identifier so a pattern misses it while a reader sees it whole.
_BIDI_CONTROLS = frozenset(chr(c) for c in (*range(0x202A, 0x202F), *range(0x2066, 0x206A)))
_ZERO_WIDTH = frozenset("\u200b\u200c\u200d\u2060\ufeff")

# Parts of one identifier: single spaces inside a line, or one line break (wrapped onto the next line).
_SPLIT_GAP = re.compile(r"[ \t]*\r?\n[ \t\f]*|[ ]{1,2}")
_NEWLINE = re.compile(r"\n")
_IBAN_START = re.compile(r"(?<![A-Za-z0-9])[A-Za-z]{2}\d{2}")
_ALNUM_RUN = re.compile(r"[A-Za-z0-9]+")
_EVM_START = re.compile(r"(?<![0-9A-Za-z])0[xX](?=[0-9a-fA-F])")
_HEX_RUN = re.compile(r"[0-9a-fA-F]+(?![0-9A-Za-z])")
_MAX_IBAN = 34
_EVM_DIGITS = 40
# Two identifiers already make a payee change; the rest are kept only to name them, up to this many.
MAX_PAYOUT_IDENTIFIERS = 20


@dataclass(frozen=True)
class PayoutScan:
    identifiers: tuple[str, ...]  # distinct, in reading order: IBANs compact upper-case, EVM addresses EIP-55
    # Bidi controls anywhere (reversed, an account need not even read as one), or zero-width characters on or
    # above an identifier's line (scripts that join letters with them are not written in account numbers).
    hidden_characters: bool


def _visible(text: str) -> tuple[str, list[bool]]:
    """The text without format characters (Unicode Cf) and in compatibility form (full-width digits are digits),
    and for each line whether it carried a zero-width character. Removing them keeps the line count."""
    lines: list[str] = []
    hiding: list[bool] = []
    for line in text.split("\n"):
        hiding.append(not line.isascii() and any(ch in _ZERO_WIDTH for ch in line))
        if not line.isascii():
            line = unicodedata.normalize("NFKC", "".join(ch for ch in line if unicodedata.category(ch) != "Cf"))
        lines.append(line)
    return "\n".join(lines), hiding


def _split_runs(text: str, start: int, run: re.Pattern[str], limit: int) -> Iterator[tuple[str, int]]:
    """Runs of `run` from `start`, joined across single spaces and one line break: the characters so far and
    where they end, after each run, until `limit` characters are read."""
    position, read, breaks = start, "", 0
    while len(read) < limit:
        part = run.match(text, position)
        if part is None:
            return
        read += part.group()
        position = part.end()
        yield read, position
        gap = _SPLIT_GAP.match(text, position)
        if gap is None:
            return
        breaks += "\n" in gap.group()
        if breaks > 1:
            return
        position = gap.end()


def _ibans(text: str) -> Iterator[tuple[str, int, int]]:
    for start in _IBAN_START.finditer(text):
        country = start.group()[:2]
        expected = IBAN_LENGTHS.get(country.upper())
        if expected is None and not country.isupper():
            continue  # any length passes mod-97 now and then: an unknown country must at least look like one
        found = None
        for read, end in _split_runs(text, start.start(), _ALNUM_RUN, _MAX_IBAN + 1):
            if expected is not None and len(read) >= expected:
                # Longer than the country's IBANs at a group boundary: a different, longer number.
                found = (read.upper(), end) if len(read) == expected and is_valid_iban(read) else None
                break
            if expected is None and 15 <= len(read) <= _MAX_IBAN and is_valid_iban(read):
                found = (read.upper(), end)
        if found is not None:
            yield found[0], start.start(), found[1]


def _evm_addresses(text: str) -> Iterator[tuple[str, int, int]]:
    for start in _EVM_START.finditer(text):
        for read, end in _split_runs(text, start.end(), _HEX_RUN, _EVM_DIGITS):
            if len(read) >= _EVM_DIGITS:
                address = "0x" + read
                if len(read) == _EVM_DIGITS and is_valid_evm_address(address):
                    yield to_checksum_address(address), start.start(), end
                break


def scan_payout_identifiers(text: str) -> PayoutScan:
    """Every IBAN (mod-97) and EVM address printed anywhere on the page, whatever its context: the one the
    extractor would pick, an "old account, closed" beside a new one, one wrapped over two lines or split by
    spaces, and one hidden behind bidi or zero-width characters (which are removed before reading)."""
    visible, hiding = _visible(text)
    hidden = not text.isascii() and any(ch in text for ch in _BIDI_CONTROLS)
    line_starts = [0, *(match.end() for match in _NEWLINE.finditer(visible))]
    found: dict[str, None] = {}
    for value, start, end in heapq.merge(_ibans(visible), _evm_addresses(visible), key=lambda f: f[1]):
        first, last = bisect_right(line_starts, start) - 1, bisect_right(line_starts, max(start, end - 1)) - 1
        # The identifier's lines and the one above, where layouts print its label.
        hidden = hidden or any(hiding[max(0, first - 1) : last + 1])
        found.setdefault(value)
        if len(found) >= MAX_PAYOUT_IDENTIFIERS:
            # Enough to name a payee change; reading on would only cost time. Fail closed on what is unread.
            hidden = hidden or any(hiding[first:])
            break
    return PayoutScan(tuple(found), hidden)
