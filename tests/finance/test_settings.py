import os

import pytest
from pydantic import SecretStr, ValidationError

from finance.settings import DEV_JWT_SECRET, DEV_WALLET_KEY, Settings, explain

STRONG_KEY = "0x" + "7" * 64
STRONG_SECRET = "s" * 40


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    # Only what a test sets counts, whatever the developer's shell exports.
    for name in list(os.environ):
        if name.startswith(("TREASURER_", "OPENAI_")):
            monkeypatch.delenv(name)


def _refusal(**values: object) -> str:
    with pytest.raises(ValidationError) as caught:
        Settings(_env_file=None, **values)
    return explain(caught.value)


def test_dev_accepts_the_development_defaults() -> None:
    settings = Settings(_env_file=None, environment="dev")
    assert settings.jwt_secret.get_secret_value() == DEV_JWT_SECRET


@pytest.mark.parametrize("environment", ["test", "production"])
def test_default_jwt_secret_is_refused_outside_dev(environment: str) -> None:
    with pytest.raises(ValidationError, match="TREASURER_JWT_SECRET is the development default"):
        Settings(_env_file=None, environment=environment, wallet_private_key=SecretStr(STRONG_KEY))


def test_public_dev_wallet_key_is_refused_outside_dev() -> None:
    with pytest.raises(ValidationError, match="public development key"):
        Settings(
            _env_file=None,
            environment="production",
            jwt_secret=SecretStr("s" * 40),
            wallet_private_key=SecretStr(DEV_WALLET_KEY.upper().replace("0X", "0x")),
        )


def test_production_needs_a_wallet() -> None:
    with pytest.raises(ValidationError, match="no wallet"):
        Settings(_env_file=None, environment="production", jwt_secret=SecretStr("s" * 40))


def test_secrets_never_appear_in_repr_or_errors() -> None:
    settings = Settings(
        _env_file=None,
        environment="production",
        jwt_secret=SecretStr("s" * 40),
        wallet_private_key=SecretStr(STRONG_KEY),
    )
    assert STRONG_KEY not in repr(settings) and STRONG_KEY not in str(settings.model_dump())


def test_settings_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TREASURER_ENVIRONMENT", "test")
    monkeypatch.setenv("TREASURER_JWT_SECRET", "e" * 32)
    monkeypatch.setenv("TREASURER_WALLET_PRIVATE_KEY", STRONG_KEY)
    monkeypatch.setenv("TREASURER_INVOICE_LIMIT", "1234.50")
    monkeypatch.setenv("TREASURER_CHAIN_ID", "8453")
    settings = Settings(_env_file=None)
    assert str(settings.invoice_limit) == "1234.50" and settings.chain_id == 8453


def test_an_unset_environment_is_not_development() -> None:
    # Forgetting TREASURER_ENVIRONMENT must not run on the public anvil key and the placeholder JWT secret.
    assert _refusal() == "TREASURER_ENVIRONMENT is not set; set it to dev, test or production"


def test_an_unknown_environment_is_refused_by_name(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TREASURER_ENVIRONMENT", "prod")
    assert _refusal().startswith("TREASURER_ENVIRONMENT: ")


@pytest.mark.parametrize("secret", ["abc", "x" * 31, "\u00e9" * 15])
def test_a_short_jwt_secret_is_refused_outside_dev(secret: str) -> None:
    problem = _refusal(environment="production", jwt_secret=SecretStr(secret), wallet_private_key=SecretStr(STRONG_KEY))
    assert "TREASURER_JWT_SECRET needs at least 32 bytes" in problem


def test_a_32_byte_jwt_secret_is_enough() -> None:
    # 16 two-byte characters: the minimum is counted in bytes, the key HMAC gets.
    for secret in ("x" * 32, "\u00e9" * 16):
        Settings(
            _env_file=None, environment="test", jwt_secret=SecretStr(secret), wallet_private_key=SecretStr(STRONG_KEY)
        )


@pytest.mark.parametrize("environment", ["dev", "test", "production"])
@pytest.mark.parametrize(
    "variable",
    [
        "TREASURER_JWT_SECRET",
        "TREASURER_WALLET_PRIVATE_KEY",
        "TREASURER_WALLET_KEYSTORE_PATH",
        "TREASURER_DATABASE_URL",
        "TREASURER_REDIS_URL",
        "TREASURER_CHAIN_RPC_URL",
        "TREASURER_PUBLIC_BASE_URL",
        "TREASURER_SMTP_HOST",
        "TREASURER_SMTP_PASSWORD",
        "TREASURER_TOKEN_ADDRESS",
    ],
)
def test_an_empty_secret_or_url_is_refused_by_name(
    environment: str, variable: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TREASURER_ENVIRONMENT", environment)
    monkeypatch.setenv("TREASURER_JWT_SECRET", STRONG_SECRET)
    monkeypatch.setenv("TREASURER_WALLET_PRIVATE_KEY", STRONG_KEY)
    monkeypatch.setenv(variable, "  ")
    assert _refusal() == f"{variable} is set but empty; give it a value or unset it"


def test_an_empty_openai_key_names_both_its_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "")
    assert "TREASURER_OPENAI_API_KEY or OPENAI_API_KEY is set but empty" in _refusal(environment="dev")


def test_an_empty_secret_passed_in_code_is_refused_too() -> None:
    assert "TREASURER_JWT_SECRET is set but empty" in _refusal(environment="dev", jwt_secret=SecretStr(""))


def test_every_problem_is_on_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TREASURER_ENVIRONMENT", "production")
    monkeypatch.setenv("TREASURER_JWT_SECRET", "abc")
    problem = _refusal()
    assert "\n" not in problem
    assert problem.startswith("refusing to start in production: TREASURER_JWT_SECRET needs at least 32 bytes")
    assert "no wallet" in problem and "abc" not in problem


def test_sign_in_throttling_is_configurable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TREASURER_SIGNIN_MAX_FAILURES_PER_ACCOUNT", "3")
    monkeypatch.setenv("TREASURER_SIGNIN_MAX_FAILURES_PER_IP", "9")
    monkeypatch.setenv("TREASURER_SIGNIN_FAILURE_WINDOW_SECONDS", "60")
    settings = Settings(_env_file=None, environment="dev")
    assert (
        settings.signin_max_failures_per_account,
        settings.signin_max_failures_per_ip,
        settings.signin_failure_window_seconds,
    ) == (3, 9, 60)
    monkeypatch.setenv("TREASURER_SIGNIN_MAX_FAILURES_PER_ACCOUNT", "0")
    assert _refusal(environment="dev").startswith("TREASURER_SIGNIN_MAX_FAILURES_PER_ACCOUNT: ")
