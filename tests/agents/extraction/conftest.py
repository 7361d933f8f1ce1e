"""Fixtures for the extraction tests: the scripted OpenAI-compatible server, and one invoice with its honest answer."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from finance.settings import Settings
from tests.fixtures.openai_server import FakeOpenAI, openai_server  # noqa: F401 - registers the fixture

INVOICE_TEXT = """\
ACME Hosting GmbH
Musterstrasse 1, 10115 Berlin, Germany

Invoice No: INV-2024-001
Invoice date: 5 March 2024
Due date: 04.04.2024

Bill to: Example Corp

Description                 Qty     Unit price        Amount
Web hosting, March            1       1,200.00      1,200.00
Support hours                 2          25.00         50.00

Total: 1,250.00 EUR

Please pay to IBAN: DE89 3704 0044 0532 0130 00
"""

# What a well-behaved model answers for INVOICE_TEXT, in the shapes models really use (spaced IBAN, lower-case code).
HONEST_ANSWER: dict[str, Any] = {
    "vendor": "ACME Hosting GmbH",
    "invoice_number": "INV-2024-001",
    "issue_date": "2024-03-05",
    "due_date": "2024-04-04",
    "total": "1250.00",
    "currency": "eur",
    "payee_account": "DE89 3704 0044 0532 0130 00",
    "line_items": [
        {"description": "Web hosting, March", "quantity": "1", "unit_price": "1,200.00", "amount": "1,200.00"},
        {"description": "Support hours", "quantity": "2", "unit_price": "25.00", "amount": "50.00"},
    ],
}


@pytest.fixture
def invoice_text() -> str:
    return INVOICE_TEXT


@pytest.fixture
def honest_answer() -> dict[str, Any]:
    return {**HONEST_ANSWER, "line_items": [dict(item) for item in HONEST_ANSWER["line_items"]]}


@pytest.fixture
def llm_settings(openai_server: FakeOpenAI) -> Callable[..., Settings]:  # noqa: F811 - the fixture, by name
    """Settings pointing the LLM extractor at the scripted server; keyword arguments override."""

    def build(**overrides: Any) -> Settings:
        values: dict[str, Any] = {
            "llm_model": "gpt-4o-mini",
            "openai_api_key": "test-key",
            "openai_base_url": openai_server.base_url,
            "llm_structured_output_method": "json_schema",
            "llm_timeout_seconds": 5.0,
            "llm_max_attempts": 3,
        }
        values.update(overrides)
        return Settings(_env_file=None, environment="dev", **values)

    return build
