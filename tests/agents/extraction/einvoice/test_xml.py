"""E-invoice XML is parsed without trusting it: malformed XML, DTDs, entity bombs, external entities and foreign
roots are refused with a message a sender can act on, and nothing is expanded or fetched on the way."""

from __future__ import annotations

import pytest

from agents.extraction.einvoice.model import InvalidEInvoice
from agents.extraction.einvoice.read import einvoice_from_bytes
from agents.extraction.einvoice.xml import parse_xml, syntax_of
from tests.fixtures.einvoices import cii_xml, ubl_xml

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
]>
<rsm:CrossIndustryInvoice xmlns:rsm="urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100">
&lol4;</rsm:CrossIndustryInvoice>
"""


def _xxe(target: str) -> bytes:
    return (
        cii_xml()
        .replace(
            b'<?xml version="1.0" encoding="UTF-8"?>',
            f'<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE x [<!ENTITY seller SYSTEM "{target}">]>'.encode(),
        )
        .replace(b"<ram:Name>ACME Hosting GmbH</ram:Name>", b"<ram:Name>&seller;</ram:Name>")
    )


@pytest.mark.parametrize(
    ("xml", "message"),
    [
        pytest.param(b"<rsm:CrossIndustryInvoice><unclosed>", "not well-formed XML", id="malformed"),
        pytest.param(cii_xml()[:-40], "not well-formed XML", id="truncated"),
        pytest.param(BILLION_LAUGHS, "declares a DTD", id="billion-laughs"),
        pytest.param(_xxe("file:///etc/passwd"), "declares a DTD", id="xxe-file"),
        pytest.param(_xxe("http://127.0.0.1:9/steal"), "declares a DTD", id="xxe-network"),
        pytest.param(
            BILLION_LAUGHS.decode().replace('version="1.0"?>', 'version="1.0" encoding="UTF-16"?>').encode("utf-16"),
            "declares a DTD",
            id="doctype-in-utf16",
        ),
    ],
)
def test_hostile_or_broken_xml_is_refused(xml: bytes, message: str) -> None:
    with pytest.raises(InvalidEInvoice, match=message) as caught:
        einvoice_from_bytes(xml)
    assert caught.value.status_code == 422 and caught.value.code == "invalid_einvoice"


def test_an_external_entity_is_never_read_even_before_the_refusal(tmp_path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-VALUE")
    with pytest.raises(InvalidEInvoice) as caught:
        parse_xml(_xxe(secret.as_uri()))
    assert "TOP-SECRET-VALUE" not in caught.value.message


@pytest.mark.parametrize(
    ("xml", "message"),
    [
        pytest.param(b"<html><body>Invoice</body></html>", "root element is <html> without a namespace", id="html"),
        pytest.param(b"<Invoice><ID>1</ID></Invoice>", "root element is <Invoice> without a namespace", id="bare-ubl"),
        pytest.param(
            b'<x:Order xmlns:x="urn:oasis:names:specification:ubl:schema:xsd:Order-2"/>',
            "<Order> in namespace urn:oasis:names:specification:ubl:schema:xsd:Order-2",
            id="ubl-order",
        ),
        pytest.param(
            b'<rsm:CrossIndustryDocument xmlns:rsm="urn:ferd:CrossIndustryDocument:invoice:1p0"/>',
            "ZUGFeRD 1.0",
            id="zugferd-1",
        ),
    ],
)
def test_xml_that_is_not_a_cii_or_ubl_invoice_is_refused(xml: bytes, message: str) -> None:
    with pytest.raises(InvalidEInvoice, match=message):
        syntax_of(parse_xml(xml))


def test_the_three_roots_are_told_apart() -> None:
    assert syntax_of(parse_xml(cii_xml()))[0] == "CII"
    assert syntax_of(parse_xml(ubl_xml()))[0] == "UBL Invoice"
    assert syntax_of(parse_xml(ubl_xml(credit_note=True)))[0] == "UBL CreditNote"
