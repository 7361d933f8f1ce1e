"""The hot wallet's key comes from an encrypted keystore or the environment, and never shows."""

from __future__ import annotations

import json
import secrets
from pathlib import Path

import pytest
from eth_account import Account
from pydantic import SecretStr

from finance.chain.wallet import load_treasury_account
from finance.errors import ChainMisconfigured
from finance.settings import Settings

KEY = "0x" + secrets.token_hex(32)


def _keystore(tmp_path: Path, password: str) -> tuple[Path, Path]:
    keystore = tmp_path / "treasury.json"
    keystore.write_text(json.dumps(Account.encrypt(KEY, password, iterations=2)))
    secret = tmp_path / "password"
    secret.write_text(password + "\n")
    return keystore, secret


def _settings(**kwargs) -> Settings:
    return Settings(_env_file=None, environment="production", jwt_secret=SecretStr("j" * 40), **kwargs)


def test_keystore_unlocks_with_its_password_file(tmp_path: Path) -> None:
    keystore, password = _keystore(tmp_path, "correct horse")
    account = load_treasury_account(_settings(wallet_keystore_path=keystore, wallet_keystore_password_file=password))
    assert account.address == Account.from_key(KEY).address


def test_wrong_password_is_a_clear_error(tmp_path: Path) -> None:
    keystore, _ = _keystore(tmp_path, "correct horse")
    wrong = tmp_path / "wrong"
    wrong.write_text("battery staple")
    with pytest.raises(ChainMisconfigured, match="could not be decrypted"):
        load_treasury_account(_settings(wallet_keystore_path=keystore, wallet_keystore_password_file=wrong))


def test_a_bad_key_never_appears_in_the_error() -> None:
    bad = "0x" + "zz" * 32
    with pytest.raises(ChainMisconfigured) as caught:
        load_treasury_account(_settings(wallet_private_key=SecretStr(bad)))
    assert bad not in str(caught.value) and "zz" not in str(caught.value)
