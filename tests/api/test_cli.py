"""The `treasurer` command against real servers."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from api.cli import app
from finance.settings import Settings, get_settings

runner = CliRunner()


def _flat(output: str) -> str:
    # rich wraps long lines at the terminal width
    return " ".join(output.split())


@pytest.fixture
def env_settings(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Settings:
    for name, value in {
        "TREASURER_ENVIRONMENT": settings.environment,
        "TREASURER_DATABASE_URL": settings.database_url,
        "TREASURER_REDIS_URL": settings.redis_url,
        "TREASURER_CHAIN_RPC_URL": settings.chain_rpc_url,
        "TREASURER_CHAIN_ID": str(settings.chain_id),
        "TREASURER_WALLET_PRIVATE_KEY": settings.wallet_private_key.get_secret_value(),
        "TREASURER_JWT_SECRET": settings.jwt_secret.get_secret_value(),
    }.items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    yield settings
    get_settings.cache_clear()


def test_chain_bootstrap_deploys_once(env_settings: Settings) -> None:
    first = runner.invoke(app, ["chain", "bootstrap"])
    assert first.exit_code == 0, first.output
    assert "stablecoin deployed at 0x" in _flat(first.output) and "minted 1000000" in _flat(first.output)
    second = runner.invoke(app, ["chain", "bootstrap"])
    assert second.exit_code == 0, second.output
    assert "already deployed" in _flat(second.output)


def test_wrong_chain_id_is_refused(env_settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TREASURER_CHAIN_ID", "1")
    get_settings.cache_clear()
    result = runner.invoke(app, ["chain", "bootstrap"])
    assert result.exit_code == 1
    assert "is chain 31337, configuration expects 1" in _flat(result.output)


def test_bootstrap_is_refused_in_production(env_settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TREASURER_ENVIRONMENT", "production")
    get_settings.cache_clear()
    result = runner.invoke(app, ["chain", "bootstrap"])
    assert result.exit_code == 1
    assert "development chains" in _flat(result.output)


def test_vendors_add_registers_a_checksummed_payee(env_settings: Settings) -> None:
    result = runner.invoke(
        app, ["vendors", "add", "Umbrella Corp", "0xe0674471d93fadcd95ef7db712f7777aa65c8ea7", "--alias", "Umbrella"]
    )
    assert result.exit_code == 0, result.output
    assert "paid at 0xE0674471D93faDcD95eF7Db712f7777Aa65c8Ea7" in _flat(result.output)
    again = runner.invoke(app, ["vendors", "add", "UMBRELLA CORP.", "0xE0674471D93faDcD95eF7Db712f7777Aa65c8Ea7"])
    assert again.exit_code == 1 and "already registered" in _flat(again.output)


def test_vendors_add_refuses_a_mistyped_address(env_settings: Settings) -> None:
    result = runner.invoke(app, ["vendors", "add", "Typo Ltd", "0xE0674471D93faDcD95eF7Db712f7777Aa65c8EA7"])
    assert result.exit_code == 1 and "fails its EIP-55 checksum" in _flat(result.output)
