import pytest
from pydantic import SecretStr, ValidationError

from finance.settings import DEV_JWT_SECRET, DEV_WALLET_KEY, Settings

STRONG_KEY = "0x" + "7" * 64


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
    monkeypatch.setenv("TREASURER_INVOICE_LIMIT", "1234.50")
    monkeypatch.setenv("TREASURER_CHAIN_ID", "8453")
    settings = Settings(_env_file=None)
    assert str(settings.invoice_limit) == "1234.50" and settings.chain_id == 8453
