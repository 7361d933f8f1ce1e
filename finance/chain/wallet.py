"""The treasury's hot wallet key: from an encrypted keystore file or the environment, never from the
database, and never printed. Only the address leaves this module in a readable form.
"""

from __future__ import annotations

import json

from eth_account import Account
from eth_account.signers.local import LocalAccount

from finance.errors import ChainMisconfigured
from finance.settings import DEV_WALLET_KEY, Settings


def load_treasury_account(settings: Settings) -> LocalAccount:
    if settings.wallet_keystore_path is not None:
        if settings.wallet_keystore_password_file is None:
            raise ChainMisconfigured("a keystore needs TREASURER_WALLET_KEYSTORE_PASSWORD_FILE")
        keystore = json.loads(settings.wallet_keystore_path.read_text())
        password = settings.wallet_keystore_password_file.read_text().rstrip("\n")
        try:
            return Account.from_key(Account.decrypt(keystore, password))
        except ValueError as exc:
            raise ChainMisconfigured("the wallet keystore could not be decrypted with the given password") from exc
    if settings.wallet_private_key is not None:
        try:
            return Account.from_key(settings.wallet_private_key.get_secret_value())
        except (ValueError, TypeError) as exc:
            # The message must not echo the key.
            raise ChainMisconfigured("TREASURER_WALLET_PRIVATE_KEY is not a valid private key") from exc
    if settings.environment == "dev":
        return Account.from_key(DEV_WALLET_KEY)
    raise ChainMisconfigured("no wallet configured")
