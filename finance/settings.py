"""Configuration, read once from the environment (prefix `TREASURER_`) or a `.env` file.

Secrets are `SecretStr` so they never reach a log line or a repr. The development defaults
(an anvil test key, a placeholder JWT secret) are public knowledge: outside `environment=dev`
they are refused at start-up rather than silently used with real money. The environment has no
default, because a deployment that forgets it must not fall back to development (fail closed).
"""

from __future__ import annotations

import hashlib
import hmac
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal, get_args, get_origin

from pydantic import AliasChoices, Field, SecretStr, ValidationError, ValidationInfo, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

# anvil's and hardhat's first well-known development account. Anyone can spend from it.
DEV_WALLET_KEY = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"
DEV_JWT_SECRET = "dev-only-jwt-secret-change-me"
EMBEDDED = "embedded"
# 256 bits, the strength of the HMAC-SHA256 it keys: a shorter secret can be guessed offline from one captured token.
MIN_JWT_SECRET_BYTES = 32
PREFIX = "TREASURER_"
# Set but empty is a mistake, never a choice: an empty secret fails much later, far from its name, and an empty
# SMTP host or token address would quietly mean "unset" (mail to a folder, a token found elsewhere).
_NOT_EMPTY = (
    "database_url",
    "redis_url",
    "chain_rpc_url",
    "token_address",
    "wallet_private_key",
    "wallet_keystore_path",
    "wallet_keystore_password_file",
    "jwt_secret",
    "openai_api_key",
    "openai_base_url",
    "public_base_url",
    "smtp_host",
    "smtp_password",
)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix=PREFIX, env_file=".env", extra="ignore")

    # Required: see the module docstring.
    environment: Literal["dev", "test", "production"]

    database_url: str = "sqlite+aiosqlite:///./.treasurer/treasurer.db"
    redis_url: str = "redis://127.0.0.1:6379/0"
    intake_stream: str = "treasurer:invoices"
    worker_group: str = "treasurer-workers"

    # "embedded" is the in-process EVM (eth-tester); anything else is a JSON-RPC URL.
    chain_rpc_url: str = EMBEDDED
    # When set, the node must report this chain id or the treasurer refuses to start:
    # signing for the wrong chain is how funds end up on a network nobody watches.
    chain_id: int | None = None
    token_address: str | None = None
    token_name: str = "Treasurer Test Dollar"
    token_symbol: str = "tUSD"
    token_decimals: int = Field(default=6, ge=0, le=36)
    # The fiat currency the stablecoin stands for: invoices in another currency cannot be paid 1:1.
    token_currency: str = Field(default="USD", pattern=r"^[A-Z]{3}$")
    confirmations: int = Field(default=1, ge=1, le=256)
    receipt_timeout_seconds: float = Field(default=120.0, gt=0)
    # An attempt not mined after this long is replaced: same nonce, fees bumped by `fee_bump_percent`
    # (nodes accept a replacement only from +10%; 12.5% is the usual safe step), never above the cap.
    stuck_after_seconds: float = Field(default=60.0, gt=0)
    fee_bump_percent: Decimal = Field(default=Decimal("12.5"), ge=Decimal("12.5"), le=200)
    max_fee_per_gas_cap_wei: int = Field(default=500 * 10**9, gt=0)
    # How often a worker looks for payments left in flight (crashes, timeouts) and drives them to an end.
    reconcile_interval_seconds: float = Field(default=60.0, gt=0)
    # The decision log's head is anchored outside the database: in a transaction from the treasury wallet to
    # itself, at most this often and only when the log has moved (3600 s: at most 24 anchors a day), and in an
    # append-only file of the anchors sent. Rows after the newest anchor are the ones a tamper can still hide.
    anchor_interval_seconds: float = Field(default=3600.0, ge=60, le=7 * 24 * 3600)
    anchor_file: Path = Path(".treasurer/anchors.jsonl")
    # Tokens minted to the treasury by `treasurer chain bootstrap` on a dev chain.
    bootstrap_mint: Decimal = Decimal("1000000")

    wallet_private_key: SecretStr | None = None
    wallet_keystore_path: Path | None = None
    wallet_keystore_password_file: Path | None = None

    jwt_secret: SecretStr = SecretStr(DEV_JWT_SECRET)

    # The LLM extractor runs when a model is configured; the offline extractor otherwise, and as its fallback.
    # OPENAI_API_KEY / OPENAI_BASE_URL are honoured as the OpenAI SDK's own names.
    llm_model: str | None = None
    openai_api_key: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices("TREASURER_OPENAI_API_KEY", "OPENAI_API_KEY")
    )
    openai_base_url: str | None = Field(
        default=None, validation_alias=AliasChoices("TREASURER_OPENAI_BASE_URL", "OPENAI_BASE_URL")
    )
    llm_structured_output_method: Literal["json_schema", "function_calling"] = "json_schema"
    llm_timeout_seconds: float = Field(default=30.0, gt=0)
    llm_max_attempts: int = Field(default=3, ge=1, le=10)
    # Uploads (PDF layout, OCR) are read on their own pool: this many at once, this many more queued; past
    # that an upload is answered 503 with Retry-After (agents/extraction/document_readers.py).
    document_readers: int = Field(default=2, ge=1, le=32)
    document_read_queue: int = Field(default=8, ge=0, le=1000)

    # The per-invoice limit of the starter policy, published as version 1 when no policy exists yet.
    # After that, limits live in versioned policy documents changed through the ops API.
    invoice_limit: Decimal = Field(default=Decimal("5000"), gt=0)
    # Runway: burn is measured over this trailing window of settled payments; while history is shorter
    # than the window, the configured baseline is used when it is higher.
    runway_window_days: int = Field(default=90, ge=7, le=730)
    baseline_monthly_burn: Decimal = Field(default=Decimal("25000"), ge=0)

    # Approvals: how long approvers have, and when they are reminded before the deadline.
    approval_ttl_hours: float = Field(default=72.0, gt=0, le=24 * 90)
    approval_reminder_before_hours: float = Field(default=24.0, ge=0)
    approvals_requests_stream: str = "treasurer:approvals:requests"
    approvals_notify_stream: str = "treasurer:approvals:notify"
    approvals_ready_stream: str = "treasurer:approvals:ready"
    approvals_deadline_key: str = "treasurer:approvals:deadlines"
    # How often a worker looks for reminders and deadlines that have come.
    approval_tick_seconds: float = Field(default=15.0, gt=0)
    # Where approvers' browsers reach the API: the links in approval e-mails start with it.
    public_base_url: str = "http://127.0.0.1:8000"

    # E-mail. Without an SMTP host, mails are written as .eml files to `outbox_dir` (the embedded default).
    smtp_host: str | None = None
    smtp_port: int = Field(default=587, ge=1, le=65535)
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    # "tls": implicit TLS (port 465); "starttls": upgrade a plain connection; "none": loopback test servers only.
    smtp_security: Literal["none", "starttls", "tls"] = "starttls"
    smtp_timeout_seconds: float = Field(default=10.0, gt=0)
    smtp_max_attempts: int = Field(default=4, ge=1, le=10)
    mail_from: str = "Treasurer <treasurer@localhost>"
    outbox_dir: Path = Path(".treasurer/outbox")

    # People sign in for a short-lived access token and a longer refresh token (rotated on every use).
    access_token_minutes: int = Field(default=30, ge=1, le=24 * 60)
    refresh_token_days: int = Field(default=14, ge=1, le=365)

    # Hardening. Origins allowed by CORS (none by default: the web app is served by the API itself).
    cors_origins: list[str] = Field(default_factory=list)
    # Requests per minute, counted in Redis so every replica shares the budget.
    rate_limit_per_user_per_minute: int = Field(default=600, ge=1)
    rate_limit_per_ip_per_minute: int = Field(default=300, ge=1)
    # Failed sign-ins, a far smaller budget: enough for typos, too few to guess a password. Per account
    # (whoever tries) and per client IP (whichever accounts it tries), over a fixed window from the first failure.
    signin_max_failures_per_account: int = Field(default=5, ge=1)
    signin_max_failures_per_ip: int = Field(default=20, ge=1)
    signin_failure_window_seconds: int = Field(default=900, ge=1, le=24 * 3600)
    # Sent only over HTTPS in production; off in dev so a browser on plain http://127.0.0.1 keeps working.
    hsts_seconds: int = Field(default=31_536_000, ge=0)

    log_format: Literal["json", "text"] = "json"
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"

    api_host: str = "127.0.0.1"
    api_port: int = 8000

    @field_validator(*_NOT_EMPTY, mode="before")
    @classmethod
    def _refuse_empty(cls, value: Any, info: ValidationInfo) -> Any:  # any raw input
        raw = value.get_secret_value() if isinstance(value, SecretStr) else value
        if isinstance(raw, str) and not raw.strip():
            raise ValueError(f"{env_name(info.field_name or '')} is set but empty; give it a value or unset it")
        return value

    @model_validator(mode="after")
    def _refuse_default_secrets(self) -> Settings:
        if self.environment == "dev":
            return self
        problems = []
        jwt_secret = self.jwt_secret.get_secret_value()
        if jwt_secret == DEV_JWT_SECRET:
            problems.append("TREASURER_JWT_SECRET is the development default")
        elif len(jwt_secret.encode()) < MIN_JWT_SECRET_BYTES:
            problems.append(
                f"TREASURER_JWT_SECRET needs at least {MIN_JWT_SECRET_BYTES} bytes (e.g. `openssl rand -hex 32`)"
            )
        key = self.wallet_private_key.get_secret_value() if self.wallet_private_key else None
        if key is not None and key.lower().removeprefix("0x") == DEV_WALLET_KEY.removeprefix("0x"):
            problems.append("TREASURER_WALLET_PRIVATE_KEY is a public development key")
        if key is None and self.wallet_keystore_path is None:
            problems.append("no wallet: set TREASURER_WALLET_KEYSTORE_PATH or TREASURER_WALLET_PRIVATE_KEY")
        if problems:
            raise ValueError(f"refusing to start in {self.environment}: " + "; ".join(problems))
        return self

    @property
    def embedded_chain(self) -> bool:
        return self.chain_rpc_url == EMBEDDED


def purpose_key(secret: SecretStr | str, purpose: bytes) -> bytes:
    """A signing key for one purpose, derived from TREASURER_JWT_SECRET: what one purpose signs (an approval
    link, an access token, a form's CSRF token) can never pass for another's."""
    raw = secret.get_secret_value() if isinstance(secret, SecretStr) else secret
    if not raw:
        raise ValueError("a signing key needs a non-empty secret")
    return hmac.new(raw.encode(), purpose, hashlib.sha256).digest()


def env_name(field: str) -> str:
    """The environment variable(s) a setting is read from, as a person would type them."""
    info = Settings.model_fields.get(field)
    if info is not None and isinstance(info.validation_alias, AliasChoices):
        return " or ".join(str(choice) for choice in info.validation_alias.choices)
    return PREFIX + field.upper()


def _field_of(where: str) -> str:
    # Errors name a setting read under an alias by that alias (TREASURER_OPENAI_API_KEY), the others by field.
    for name, info in Settings.model_fields.items():
        if isinstance(info.validation_alias, AliasChoices) and where in info.validation_alias.choices:
            return name
    return where


def explain(error: ValidationError) -> str:
    """Settings that cannot start, as one line naming each variable: what a person at a terminal needs."""
    problems = []
    for item in error.errors():
        message = item["msg"].removeprefix("Value error, ")
        if not item["loc"]:
            problems.append(message)  # a whole-model check: it names its variables itself
            continue
        field = _field_of(str(item["loc"][0]))
        variable = env_name(field)
        if item["type"] == "missing":
            annotation = Settings.model_fields[field].annotation
            choices = get_args(annotation) if get_origin(annotation) is Literal else ()
            hint = f"; set it to {', '.join(choices[:-1])} or {choices[-1]}" if len(choices) > 1 else ""
            problems.append(f"{variable} is not set{hint}")
        else:
            problems.append(message if message.startswith(variable) else f"{variable}: {message}")
    return "; ".join(problems)


@lru_cache
def get_settings() -> Settings:
    return Settings()  # type: ignore[call-arg] - `environment` comes from the environment, or nothing starts
