"""The `treasurer` command against real servers."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from api.cli import app
from finance.settings import Settings, get_settings

runner = CliRunner()


def _flat(output: str) -> str:
    # rich wraps long lines at the terminal width
    return " ".join(output.split())


ROOT = Path(__file__).resolve().parents[2]
UNSET = "treasurer: TREASURER_ENVIRONMENT is not set; set it to dev, test or production"


@pytest.fixture
def unconfigured(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Nothing configured: no TREASURER_* in the environment and no `.env` in the working folder."""
    for name in list(os.environ):
        if name.startswith(("TREASURER_", "OPENAI_")):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


@pytest.mark.parametrize(
    "command", [["serve"], ["worker"], ["db", "upgrade"], ["users", "list"], ["payments", "reconcile"]]
)
def test_an_unset_environment_is_one_line_and_exit_2(unconfigured: None, command: list[str]) -> None:
    result = runner.invoke(app, command)
    assert result.exit_code == 2, result.output
    assert result.stderr == UNSET + "\n" and result.stdout == ""


def test_an_empty_jwt_secret_is_named_before_anything_starts(
    unconfigured: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TREASURER_ENVIRONMENT", "production")
    monkeypatch.setenv("TREASURER_JWT_SECRET", "")
    result = runner.invoke(app, ["serve"])
    assert result.exit_code == 2
    assert result.stderr == "treasurer: TREASURER_JWT_SECRET is set but empty; give it a value or unset it\n"


def test_the_console_script_prints_no_traceback(tmp_path: Path) -> None:
    # The real process, as a deployment runs it: one line on stderr, exit code 2, nothing else.
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TREASURER_", "OPENAI_"))}
    env["PYTHONPATH"] = str(ROOT)
    done = subprocess.run(
        [sys.executable, "-m", "api.cli", "serve"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60
    )
    assert (done.returncode, done.stdout, done.stderr) == (2, "", UNSET + "\n")


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


def _user(settings: Settings, email: str, *roles: str) -> None:
    from finance.db import create_engine, session_factory
    from tests.fixtures.people import ensure_user

    async def go() -> None:
        engine = create_engine(settings.database_url)
        async with session_factory(engine).begin() as session:
            await ensure_user(session, email, *roles)
        await engine.dispose()

    asyncio.run(go())


def test_vendors_add_then_verify_takes_two_people(env_settings: Settings) -> None:
    _user(env_settings, "ops@example.com", "ops")
    _user(env_settings, "ops.lead@example.com", "ops")
    address = "0xe0674471d93fadcd95ef7db712f7777aa65c8ea7"
    nobody = runner.invoke(app, ["vendors", "add", "Umbrella Corp", address, "--as", "ghost@example.com"])
    assert nobody.exit_code == 1 and "no active user with the ops role" in _flat(nobody.output)
    result = runner.invoke(
        app, ["vendors", "add", "Umbrella Corp", address, "--alias", "Umbrella", "--as", "ops@example.com"]
    )
    assert result.exit_code == 0, result.output
    assert "paid at 0xE0674471D93faDcD95eF7Db712f7777Aa65c8Ea7 once someone else verifies it" in _flat(result.output)
    again = runner.invoke(
        app,
        ["vendors", "add", "UMBRELLA CORP.", "0xE0674471D93faDcD95eF7Db712f7777Aa65c8Ea7", "--as", "ops@example.com"],
    )
    assert again.exit_code == 1 and "already" in _flat(again.output)
    own = runner.invoke(app, ["vendors", "verify", "Umbrella Corp", "--as", "OPS@example.com"])
    assert own.exit_code == 1 and "someone other than" in _flat(own.output)
    verified = runner.invoke(app, ["vendors", "verify", "Umbrella Corp", "--as", "ops.lead@example.com"])
    assert verified.exit_code == 0 and "verified Umbrella Corp" in _flat(verified.output), verified.output


def test_vendors_add_refuses_a_mistyped_address(env_settings: Settings) -> None:
    _user(env_settings, "ops@example.com", "ops")
    typo = "0xE0674471D93faDcD95eF7Db712f7777Aa65c8EA7"
    result = runner.invoke(app, ["vendors", "add", "Typo Ltd", typo, "--as", "ops@example.com"])
    assert result.exit_code == 1 and "fails its EIP-55 checksum" in _flat(result.output)


async def test_decisions_explain_replays_the_evaluation(env_settings: Settings) -> None:
    from agents.runtime import open_treasurer
    from api.demo import sample_invoices
    from tests.fixtures.vendors import register_sample_vendors

    async with open_treasurer(env_settings, bootstrap_chain=True) as treasurer:
        await register_sample_vendors(treasurer)
        text = dict(sample_invoices())["03-globex-over-limit.txt"]
        invoice_id = await treasurer.submit(text)
        await treasurer.process(invoice_id)

    # The command runs its own event loop; keep it off this test's loop.
    result = await asyncio.to_thread(runner.invoke, app, ["decisions", "explain", str(invoice_id)])
    flat = _flat(result.output)
    assert result.exit_code == 0, result.output
    assert "policy version 2 decided require_approval" in flat
    assert "per-invoice-limit" in flat and "approval tier over-limit" in flat
    assert "same decision, same rules" in flat

    verified = await asyncio.to_thread(runner.invoke, app, ["audit", "verify"])
    assert verified.exit_code == 0 and "decision log intact" in _flat(verified.output)


def test_explain_an_unknown_invoice(env_settings: Settings) -> None:
    result = runner.invoke(app, ["decisions", "explain", "00000000-0000-0000-0000-000000000000"])
    assert result.exit_code == 1 and "no decisions recorded" in _flat(result.output)


def test_apikeys_create_prints_a_working_key_once(env_settings: Settings) -> None:
    stranger = runner.invoke(app, ["apikeys", "create", "ops@example.com", "--role", "ops"])
    assert stranger.exit_code == 1 and "create the user first" in _flat(stranger.output)
    _user(env_settings, "ops@example.com", "ops")
    beyond = runner.invoke(app, ["apikeys", "create", "ops@example.com", "--role", "admin"])
    assert beyond.exit_code == 1 and "does not hold the role(s) admin" in _flat(beyond.output)
    result = runner.invoke(app, ["apikeys", "create", "ops@example.com", "--role", "ops"])
    assert result.exit_code == 0, result.output
    key = result.output.strip().splitlines()[-1]
    assert key.startswith("trk_") and len(key) > 40
    bad = runner.invoke(app, ["apikeys", "create", "x", "--role", "wizard"])
    assert bad.exit_code == 1 and "roles must be some of" in _flat(bad.output)
