"""schemathesis against the app's own OpenAPI schema: generated requests to every operation, on the real
app over PostgreSQL, Redis and anvil. No answer may be a server error, and every answer the schema
documents must match it."""

from __future__ import annotations

import os

import httpx
import pytest
import pytest_asyncio
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.checks import not_a_server_error, response_schema_conformance

from finance.api_keys import ROLES
from tests.fixtures.credentials import access_token

pytestmark = pytest.mark.asyncio
# Examples per operation: small by default (the suite runs on every commit); raise it for a deeper run.
EXAMPLES = int(os.environ.get("TREASURER_TEST_SCHEMA_EXAMPLES", "8"))


@pytest_asyncio.fixture
async def app_client(unlimited_client: httpx.AsyncClient) -> httpx.AsyncClient:
    # Limits out of the way: hundreds of requests in seconds are the point here, not abuse.
    return unlimited_client


def _cases(operation) -> list:
    found: list = []

    @settings(
        max_examples=EXAMPLES,
        database=None,
        deadline=None,
        derandomize=True,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(operation.as_strategy())
    def collect(case) -> None:
        found.append(case)

    collect()
    return found


async def test_no_operation_answers_a_server_error_or_breaks_its_schema(app_client: httpx.AsyncClient) -> None:
    schema = schemathesis.openapi.from_dict(app_client.app.openapi())
    token = await access_token(app_client.app.state.settings, "fuzz@example.com", *sorted(ROLES))
    failures: list[str] = []
    operations = sent = 0
    statuses: set[int] = set()
    for result in schema.get_all_operations():
        operation = result.ok()
        operations += 1
        for case in _cases(operation):
            kwargs = case.as_transport_kwargs(base_url="http://treasurer.test")
            kwargs["headers"] = {**kwargs.get("headers", {}), "Authorization": f"Bearer {token}"}
            kwargs.pop("cookies", None)
            response = await app_client.request(**kwargs)
            sent += 1
            statuses.add(response.status_code)
            try:
                case.validate_response(response, checks=[not_a_server_error, response_schema_conformance])
            except (AssertionError, Exception, BaseExceptionGroup) as exc:  # all reported together
                failures.append(f"{operation.label}: {type(exc).__name__}: {str(exc)[:400]}")
                break  # one failure per operation is enough to report
    assert operations > 30, f"only {operations} operations in the schema"
    assert sent >= 2 * operations and {200, 422} <= statuses, (sent, statuses)
    assert not failures, "\n\n".join(failures)
