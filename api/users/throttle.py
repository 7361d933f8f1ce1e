"""Failed sign-ins, counted in Redis per account and per client IP so every replica shares one budget.

Far stricter than the per-minute rate limiter: a few failures per account (whoever tries it) and a few more per
address (whichever accounts it tries) within a window, enough for typos and too few to guess a password. Over
either budget the answer is `429` with `Retry-After`, given before the password is checked: a throttled guess
costs the attacker a round trip and tells nothing, even when it is right.

Each attempt takes its place in both counters before the password is checked, in one atomic script, so a burst
of parallel guesses cannot all pass the check before the first failure is counted. A refusal keeps the place;
a success clears the account's counter and gives the address its place back; any other outcome (the database
down) gives both back. The window is fixed from the first failure: retrying while throttled never extends it.

The account is a hash of the normalised e-mail, whether or not such a user exists: unknown addresses are
throttled exactly like known ones, so neither the 429 nor its timing says which accounts exist, and no address
is kept in Redis.

Without Redis the budget cannot be counted. In development (the embedded default runs without Redis) sign-in
goes on unthrottled, with a warning; anywhere else it is refused with `503` (fail closed): the throttle is the
only bound on password guessing.
"""

from __future__ import annotations

import hashlib
import ipaddress
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import Request
from redis.asyncio import Redis
from redis.exceptions import RedisError

from api.users.service import SignInRefused, normalise_email
from finance.errors import TreasurerError
from finance.settings import Settings

log = logging.getLogger("treasurer.signin")
_UNAVAILABLE_RETRY_SECONDS = 10

# KEYS: the counters; ARGV[1]: the window in seconds; ARGV[i + 1]: the budget of KEYS[i].
# Returns 0 when the attempt is admitted (and counted in every counter), else the seconds until one may try again.
_ADMIT = """
local wait = 0
for i, key in ipairs(KEYS) do
  if tonumber(redis.call('GET', key) or '0') >= tonumber(ARGV[i + 1]) then
    local ttl = redis.call('TTL', key)
    if ttl < 0 then
      redis.call('EXPIRE', key, ARGV[1])
      ttl = tonumber(ARGV[1])
    end
    wait = math.max(wait, ttl)
  end
end
if wait > 0 then return wait end
for _, key in ipairs(KEYS) do
  redis.call('INCR', key)
  if redis.call('TTL', key) < 0 then redis.call('EXPIRE', key, ARGV[1]) end
end
return 0
"""

# KEYS: the counters to give the attempt back to; ARGV[1] == '1' clears KEYS[1] instead. DECR keeps the TTL, and
# a counter that has expired meanwhile is left alone rather than re-created without one.
_RELEASE = """
for i, key in ipairs(KEYS) do
  if i == 1 and ARGV[1] == '1' then
    redis.call('DEL', key)
  elseif tonumber(redis.call('GET', key) or '0') > 0 then
    redis.call('DECR', key)
  end
end
return 0
"""


class SignInThrottled(TreasurerError):
    status_code = 429
    code = "sign_in_throttled"

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"too many failed sign-ins; try again in {retry_after} s")
        self.retry_after = retry_after

    @property
    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.retry_after)}


class SignInUnavailable(TreasurerError):
    status_code = 503
    code = "sign_in_unavailable"

    @property
    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(_UNAVAILABLE_RETRY_SECONDS)}


def client_network(request: Request) -> str:
    """Who is guessing, as far as an address says: one IPv4 address, or an IPv6 /64 (one host can hold a whole
    /64 and rotate through it). Behind a proxy this is the proxy unless uvicorn runs with --proxy-headers."""
    host = request.client.host if request.client else ""
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return host or "unknown"
    if address.version == 6:
        return str(ipaddress.ip_network(f"{address}/64", strict=False))
    return str(address)


class SignInThrottle:
    def __init__(self, redis: Redis, settings: Settings) -> None:
        self.settings = settings
        self._admit = redis.register_script(_ADMIT)
        self._release = redis.register_script(_RELEASE)

    @staticmethod
    def keys(email: str, network: str) -> list[str]:
        account = hashlib.sha256(normalise_email(email).encode()).hexdigest()[:32]
        return [f"treasurer:signin:account:{account}", f"treasurer:signin:ip:{network}"]

    async def admit(self, keys: list[str]) -> bool:
        """Count the attempt, or raise `SignInThrottled`. False when it could not be counted (development only)."""
        budgets = [self.settings.signin_max_failures_per_account, self.settings.signin_max_failures_per_ip]
        try:
            wait = int(await self._admit(keys=keys, args=[self.settings.signin_failure_window_seconds, *budgets]))
        except (RedisError, OSError) as exc:
            if self.settings.environment != "dev":
                raise SignInUnavailable("sign-in is unavailable: failed attempts cannot be counted") from exc
            log.warning("sign-in throttling is off: Redis is unreachable (%s)", type(exc).__name__)
            return False
        if wait:
            raise SignInThrottled(wait)
        return True

    async def release(self, keys: list[str], *, succeeded: bool) -> None:
        try:
            await self._release(keys=keys, args=["1" if succeeded else "0"])
        except (RedisError, OSError) as exc:
            # The attempt stays counted as a failure until its window ends: stricter, never looser.
            log.warning("a sign-in attempt could not be given back: Redis is unreachable (%s)", type(exc).__name__)


@asynccontextmanager
async def throttled(request: Request, email: str) -> AsyncIterator[None]:
    """One sign-in attempt under the budget: refused before anything inside runs when over it, counted as a
    failure when what runs inside raises `SignInRefused`, and cleared for the account when it succeeds."""
    throttle = SignInThrottle(request.app.state.redis, request.app.state.settings)
    keys = throttle.keys(email, client_network(request))
    if not await throttle.admit(keys):
        yield
        return
    try:
        yield
    except SignInRefused:
        raise
    except Exception:
        await throttle.release(keys, succeeded=False)
        raise
    await throttle.release(keys, succeeded=True)
