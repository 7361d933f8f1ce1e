"""schemathesis against the app's own OpenAPI schema: generated requests to every operation, on the real
app over PostgreSQL, Redis and anvil. No answer may be a server error, and every answer the schema
documents must match it."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator

import httpx
import pytest
import pytest_asyncio
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.checks import not_a_server_error, response_schema_conformance

from api.app import create_app
from finance.api_keys import ROLES
from finance.settings import Settings
from tests.fixtures.credentials import access_token

pytestmark = pytest.mark.asyncio
# Examples per operation: small by default (the suite runs on every commit); raise it for a deeper run.
EXAMPLES = int(os.environ.get("TREASURER_TEST_SCHEMA_EXAMPLES", "8"))


@pytest_asyncio.fixture
async def app_client(bootstrapped: Settings) -> AsyncIterator[httpx.AsyncClient]:
    # Limits out of the way: hundreds of requests in seconds are the point here, not abuse.
    settings = bootstrapped.model_copy(
        update={"rate_limit_per_user_per_minute": 10**9, "rate_limit_per_ip_per_minute": 10**9}
    )
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://treasurer.test", timeout=60) as http:
            http.app = app
            yield http


def _cases(operation) -> list:  # noqa: ANN001
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
    def collect(case) -> None:  # noqa: ANN001
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
            except (AssertionError, Exception, BaseExceptionGroup) as exc:  # noqa: BLE001 - all reported together
                failures.append(f"{operation.label}: {type(exc).__name__}: {str(exc)[:400]}")
                break  # one failure per operation is enough to report
    assert operations > 30, f"only {operations} operations in the schema"
    assert sent >= 2 * operations and {200, 422} <= statuses, (sent, statuses)
    assert not failures, "\n\n".join(failures)
