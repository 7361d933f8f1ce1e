"""Look-alike vendor names: the skeleton maps Greek and Cyrillic imitations back to the Latin name they imitate,
and a name mixing scripts or hiding invisible characters is reported."""

from __future__ import annotations

import pytest

from finance.lookalikes import lookalike_problem, skeleton
from finance.vendors import normalize_vendor_name


@pytest.mark.parametrize(
    "imitation",
    ["\u0391CME Hosting GmbH", "AC\u041cE Hosting GmbH", "ACME H\u043esting GmbH", "ACME\u200b Hosting GmbH"],
    ids=["greek-alpha", "cyrillic-em", "cyrillic-o", "zero-width-space"],
)
def test_an_imitation_has_the_key_of_the_name_it_imitates_and_is_reported(imitation: str) -> None:
    assert normalize_vendor_name(imitation) == normalize_vendor_name("ACME Hosting GmbH")
    assert lookalike_problem(imitation) is not None


@pytest.mark.parametrize(
    "name",
    [
        "ACME Hosting GmbH",
        "Müller & Söhne KG",
        "Société Hôtelière du Lac",
        "Spółka Przykładowa Sp. z o.o.",
        "Ελληνική Α.Ε.",
    ],
)
def test_a_name_in_one_script_is_fine_and_keeps_its_key(name: str) -> None:
    assert lookalike_problem(name) is None
    assert skeleton(name) == name or not name.isascii()


def test_the_report_names_the_scripts_and_what_the_name_reads_like() -> None:
    problem = lookalike_problem("\u0391CME Hosting")
    assert problem is not None and "Greek and Latin letters" in problem and "reads like 'ACME Hosting'" in problem


def test_a_bidi_override_is_reported_by_its_code_point() -> None:
    problem = lookalike_problem("ACME \u202eHosting")
    assert problem is not None and "U+202E" in problem
