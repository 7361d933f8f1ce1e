"""Benchmark: the HTTP API on loopback. Requests per second and p50/p99 latency of `POST /api/invoices` (accept
and queue) and `GET /api/dashboard`, beside a bare FastAPI app doing one PostgreSQL insert per request, in the
same run and the same server setup.

    python bench/api.py [--requests 2000] [--concurrency 16] [--warmup 200]

Process model. Each app is served by its own uvicorn process, one worker, with uvicorn's defaults (uvloop and
httptools when installed), so the load generator does not share the server's interpreter or event loop:
- the API by `python -m api.cli serve --host 127.0.0.1 --port N` (what `treasurer serve` runs), configured by
  TREASURER_* variables: the benchmark's own database, Redis db, anvil and wallet, log level WARNING (its access
  lines are INFO, so none are written) and rate limits of 10**9 a minute (the limiter's Redis round trip is made
  on every request, but it never refuses one);
- the bare app by this script with `--bare-server`, through the same `uvicorn.run` call as `serve`, with the
  same environment (it inserts into the API's database).
The load generator is this process: one `httpx.AsyncClient` per app (HTTP/1.1 keep-alive, at most
`--concurrency` connections) driven by `--concurrency` client tasks in a closed loop, each sending its next
request as soon as its last one returned; `--warmup` untimed requests, then `--requests` timed ones.

Phases, one after the other (only one server is under load at a time):
1. bare: `POST /bare` with the same JSON bodies as the intake; one INSERT into a table it creates in the bench
   database (SQLAlchemy async engine over psycopg 3, the API's pool size of 10 + 10 overflow, but without the
   API's pre-ping), then 202 JSON.
2. intake: `POST /api/invoices` with a cfo JWT: the invoice is stored in PostgreSQL and its id XADDed to the
   intake stream, 202. No worker runs, so only the intake is measured.
3. dashboard: `GET /api/dashboard` with a cfo JWT: the token balance read from anvil, aggregates from PostgreSQL.

Where the time goes: the CPU each party used in a phase, per request (the server process, this load generator,
the PostgreSQL backends serving the bench database, the Redis server, anvil), how many PostgreSQL connections
were opened (a pool of 10 + 10 overflow closes what it opened past 10 as soon as it has 10 idle), and how busy
the whole machine was.
The client, the servers, PostgreSQL, Redis and anvil share the machine's cores; anything else running on it (a
test suite) shows as machine time none of them used, and makes the figures noisy.

Needs PostgreSQL (TREASURER_TEST_POSTGRES_URL, default postgresql://postgres@127.0.0.1:5432/test, trust auth),
Redis at TREASURER_BENCH_REDIS_URL (default redis://127.0.0.1:6379/14; that database is flushed at the start and
at the end) and the anvil binary (`make anvil`). It starts its own anvil, database and servers and removes them
after.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import json
import logging
import os
import signal
import socket
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from statistics import quantiles

_STARTED = time.monotonic()  # the wall time printed includes the imports below
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import httpx  # noqa: E402
import psycopg  # noqa: E402
import uvicorn  # noqa: E402
from fastapi import FastAPI  # noqa: E402
from pydantic import BaseModel  # noqa: E402
from redis.asyncio import Redis  # noqa: E402
from sqlalchemy import text  # noqa: E402
from sqlalchemy.ext.asyncio import create_async_engine  # noqa: E402

from agents.runtime import open_treasurer  # noqa: E402
from api.demo import sample_invoices  # noqa: E402
from bench.approvals import BENCH_REDIS_URL, worker_environment  # noqa: E402
from bench.spine import PG_ADMIN_URL, bench_database, bench_settings  # noqa: E402
from finance.chain.anvil import start_anvil  # noqa: E402
from finance.settings import Settings  # noqa: E402
from tests.fixtures.credentials import access_token  # noqa: E402
from tests.fixtures.vendors import register_sample_vendors  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
SUBMITTER = "cfo@example.com"
UNLIMITED = 10**9
BARE_TABLE = "bench_bare_inserts"
# Every wait in this script ends: a stuck phase or server fails the run instead of hanging it.
PHASE_TIMEOUT_SECONDS = 600.0
SERVER_START_SECONDS = 120.0
_TICK = os.sysconf("SC_CLK_TCK")


# --- the bare app ------------------------------------------------------------------------------------------------


class BareSubmission(BaseModel):
    raw_text: str


def bare_app(database_url: str) -> FastAPI:
    """The baseline: FastAPI, one pydantic body, one INSERT in its own transaction, a 202 JSON answer."""
    engine = create_async_engine(database_url, pool_size=10, max_overflow=10)
    insert = text(f"INSERT INTO {BARE_TABLE} (id, raw_text) VALUES (:id, :raw_text)")

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        async with engine.begin() as conn:
            await conn.execute(
                text(
                    f"CREATE TABLE IF NOT EXISTS {BARE_TABLE} (id uuid PRIMARY KEY, raw_text text NOT NULL, "
                    "created_at timestamptz NOT NULL DEFAULT now())"
                )
            )
        try:
            yield
        finally:
            await engine.dispose()

    app = FastAPI(lifespan=lifespan)

    @app.post("/bare", status_code=202)
    async def bare(submission: BareSubmission) -> dict:
        item_id = uuid.uuid4()
        async with engine.begin() as conn:
            await conn.execute(insert, {"id": item_id, "raw_text": submission.raw_text})
        return {"id": str(item_id), "status": "QUEUED"}

    return app


def serve_bare(port: int) -> None:
    """The child process: the bare app under uvicorn, started as `treasurer serve` starts the API, on the API's
    database (TREASURER_DATABASE_URL, from the same environment)."""
    logging.basicConfig(level=logging.WARNING)
    app = bare_app(os.environ["TREASURER_DATABASE_URL"])
    uvicorn.run(app, host="127.0.0.1", port=port, log_config=None, access_log=False)


# --- servers in child processes -------------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@asynccontextmanager
async def server_process(argv: list[str], env: dict[str, str], port: int, cwd: str) -> AsyncIterator[int]:
    """A server in a child process; ready once its port accepts connections (uvicorn binds after its lifespan
    has started, so the app's pools and clients are open by then). Yields the child's pid."""
    process = await asyncio.create_subprocess_exec(*argv, env=env, cwd=cwd)
    try:
        deadline = time.monotonic() + SERVER_START_SECONDS
        while True:
            if process.returncode is not None:
                raise SystemExit(f"{' '.join(argv[:4])} exited at start with {process.returncode}")
            try:
                _, writer = await asyncio.open_connection("127.0.0.1", port)
            except OSError as exc:
                if time.monotonic() > deadline:
                    raise SystemExit(f"{argv[:4]} did not listen on {port} within {SERVER_START_SECONDS} s") from exc
                await asyncio.sleep(0.1)
                continue
            writer.close()
            await writer.wait_closed()
            break
        yield process.pid
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGTERM)  # uvicorn shuts down gracefully, running the app's lifespan end
            try:
                await asyncio.wait_for(process.wait(), timeout=30)
            except TimeoutError:
                process.kill()
                await process.wait()


def api_environment(settings: Settings) -> dict[str, str]:
    env = worker_environment(settings)  # every setting as TREASURER_*, nothing of the caller's TREASURER_*
    env["PYTHONPATH"] = str(ROOT)  # the children run in a scratch folder, where no `.env` can be read
    env["PYTHONUNBUFFERED"] = "1"
    return env


# --- CPU accounting ---------------------------------------------------------------------------------------------


def _process_seconds(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return 0.0
    return (int(fields[11]) + int(fields[12])) / _TICK  # utime + stime


def _pids(match: Callable[[str], bool]) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if match(cmdline):
            found.append(int(entry.name))
    return found


def _machine_busy_seconds() -> float:
    user, nice, system, idle, iowait, irq, softirq, steal = map(int, Path("/proc/stat").read_text().split()[1:9])
    return (user + nice + system + irq + softirq + steal) / _TICK


@dataclass(frozen=True)
class Parties:
    """The processes whose CPU a phase accounts for, and the PostgreSQL server's count of sessions opened."""

    server: int
    database: str
    anvil: int
    admin: psycopg.Connection

    def snapshot(self) -> dict[str, dict[int, float] | float]:
        postgres = _pids(lambda c: c.startswith("postgres:") and f" {self.database} " in c)
        redis = _pids(lambda c: c.startswith("redis-server"))
        self.admin.execute("SELECT pg_stat_clear_snapshot()")
        (sessions,) = self.admin.execute(
            "SELECT sessions FROM pg_stat_database WHERE datname = %s", (self.database,)
        ).fetchone()
        return {
            "server": {self.server: _process_seconds(self.server)},
            "client": time.process_time(),
            "postgres": {pid: _process_seconds(pid) for pid in postgres},
            "redis": {pid: _process_seconds(pid) for pid in redis},
            "anvil": {self.anvil: _process_seconds(self.anvil)},
            "machine": _machine_busy_seconds(),
            "connections": sessions,
        }


def _used(before: dict, after: dict) -> dict[str, float]:
    used = {}
    for name, end in after.items():
        start = before[name]
        if isinstance(end, dict):
            # A process that started during the phase (a new connection's backend) counts from zero; one that
            # ended during it (a connection the pool closed) is not counted at all.
            used[name] = sum(seconds - start.get(pid, 0.0) for pid, seconds in end.items())
        else:
            used[name] = end - start
    return used


# --- the load generator -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PhaseResult:
    label: str
    latencies_ms: list[float]
    errors: int
    first_error: str | None
    elapsed: float
    cpu: dict[str, float]  # CPU seconds used during the timed run by party; PostgreSQL sessions opened

    @property
    def answered(self) -> int:
        return len(self.latencies_ms)

    @property
    def rate(self) -> float:
        return self.answered / self.elapsed

    def pct(self, q: int) -> float:
        if len(self.latencies_ms) == 1:
            return self.latencies_ms[0]
        return quantiles(self.latencies_ms, n=100, method="inclusive")[q - 1]


Send = Callable[[httpx.AsyncClient, int], Awaitable[httpx.Response]]
Check = Callable[[httpx.Response], bool]


async def drive(
    client: httpx.AsyncClient, send: Send, numbers: range, concurrency: int, check: Check | None = None
) -> tuple[list[float], int, str | None, float]:
    """`len(numbers)` requests from `concurrency` closed-loop clients. Returns the latencies of the answered
    ones, how many failed (non-2xx, failed check, or no answer), the first failure, and the elapsed time."""
    counter = iter(numbers)
    latencies: list[float] = []
    errors = 0
    first_error: str | None = None

    def failed(what: str) -> None:
        nonlocal errors, first_error
        errors += 1
        first_error = first_error or what

    async def one_client() -> None:
        for n in counter:
            started = time.perf_counter()
            try:
                response = await send(client, n)
            except httpx.HTTPError as exc:
                failed(f"{type(exc).__name__}: {exc}")
                continue
            latencies.append((time.perf_counter() - started) * 1000)
            if not 200 <= response.status_code < 300:
                failed(f"HTTP {response.status_code}: {response.text[:300]}")
            elif check is not None and not check(response):
                failed(f"HTTP {response.status_code}, check failed: {response.text[:300]}")

    started = time.perf_counter()
    await asyncio.wait_for(asyncio.gather(*(one_client() for _ in range(concurrency))), PHASE_TIMEOUT_SECONDS)
    return latencies, errors, first_error, time.perf_counter() - started


async def phase(
    label: str,
    base_url: str,
    token: str,
    send: Send,
    args: argparse.Namespace,
    parties: Parties,
    check: Check | None = None,
) -> PhaseResult:
    async with httpx.AsyncClient(
        base_url=base_url,
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        timeout=30,
        trust_env=False,
        limits=httpx.Limits(max_connections=args.concurrency, max_keepalive_connections=args.concurrency),
    ) as client:
        # Untimed: opens the connections, fills the pools, warms the code paths.
        _, warm_errors, warm_error, _ = await drive(client, send, range(args.warmup), args.concurrency, check)
        if warm_errors:
            raise SystemExit(f"{label}: {warm_errors} of {args.warmup} warm-up requests failed; first: {warm_error}")
        numbers = range(args.warmup, args.warmup + args.requests)
        before = parties.snapshot()
        latencies, errors, first_error, elapsed = await drive(client, send, numbers, args.concurrency, check)
        cpu = _used(before, parties.snapshot())
    return PhaseResult(label, latencies, errors, first_error, elapsed, cpu)


def invoice_bodies(count: int) -> list[bytes]:
    """The demo's sample invoices, each made distinct by a reference line, as JSON bodies built before timing."""
    texts = [t for _, t in sample_invoices()]
    return [
        json.dumps({"raw_text": f"{texts[n % len(texts)]}\nBench reference: API-{n:07d}\n"}).encode()
        for n in range(count)
    ]


# --- main ----------------------------------------------------------------------------------------------------------


def _sync_url(database_url: str) -> str:
    return database_url.replace("postgresql+psycopg://", "postgresql://", 1)


async def main(args: argparse.Namespace) -> None:
    redis = Redis.from_url(BENCH_REDIS_URL)
    await redis.flushdb()
    node = start_anvil()
    admin = psycopg.connect(PG_ADMIN_URL, autocommit=True)
    databases: list[str] = []
    total = args.warmup + args.requests
    bodies = invoice_bodies(total)
    try:
        name, url = await bench_database(admin)
        databases.append(name)
        settings = bench_settings(
            url,
            node.url,
            redis_url=BENCH_REDIS_URL,
            llm_model=None,
            log_level="WARNING",
            rate_limit_per_user_per_minute=UNLIMITED,
            rate_limit_per_ip_per_minute=UNLIMITED,
        )
        # Once, before the server starts: the token deployed and the treasury funded, the vendors registered.
        async with open_treasurer(settings, bootstrap_chain=True) as treasurer:
            await register_sample_vendors(treasurer)
        token = await access_token(settings, SUBMITTER, "cfo")
        api_port, bare_port = _free_port(), _free_port()
        api_argv = [sys.executable, "-m", "api.cli", "serve", "--host", "127.0.0.1", "--port", str(api_port)]
        bare_argv = [sys.executable, __file__, "--bare-server", "--port", str(bare_port)]
        env = api_environment(settings)

        async def post_bare(client: httpx.AsyncClient, n: int) -> httpx.Response:
            return await client.post("/bare", content=bodies[n])

        async def post_invoice(client: httpx.AsyncClient, n: int) -> httpx.Response:
            return await client.post("/api/invoices", content=bodies[n])

        async def get_dashboard(client: httpx.AsyncClient, _n: int) -> httpx.Response:
            return await client.get("/api/dashboard")

        def balance_read(response: httpx.Response) -> bool:
            # The dashboard answers 200 with a null balance when the chain is unreachable: that is no success here.
            return response.json().get("treasury_balance") is not None

        with tempfile.TemporaryDirectory(prefix="bench-api-") as scratch:
            async with (
                server_process(bare_argv, env, bare_port, scratch) as bare_pid,
                server_process(api_argv, env, api_port, scratch) as api_pid,
            ):
                bare_url, api_url = f"http://127.0.0.1:{bare_port}", f"http://127.0.0.1:{api_port}"
                anvil_pid = node.process.pid
                bare = await phase(
                    "bare FastAPI, one INSERT",
                    bare_url,
                    token,
                    post_bare,
                    args,
                    Parties(bare_pid, name, anvil_pid, admin),
                )
                parties = Parties(api_pid, name, anvil_pid, admin)
                intake = await phase("POST /api/invoices (intake)", api_url, token, post_invoice, args, parties)
                stream_length = await redis.xlen(settings.intake_stream)
                dashboard = await phase(
                    "GET /api/dashboard", api_url, token, get_dashboard, args, parties, check=balance_read
                )
        limiter_keys = await redis.keys("treasurer:rl:user:*")
        limiter_counted = sum(int(count or 0) for count in await redis.mget(limiter_keys)) if limiter_keys else 0
        with psycopg.connect(_sync_url(url)) as conn:
            stored = conn.execute("SELECT count(*) FROM invoices").fetchone()[0]
            bare_rows = conn.execute(f"SELECT count(*) FROM {BARE_TABLE}").fetchone()[0]
    finally:
        node.stop()
        for name in databases:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()
        await redis.flushdb()
        await redis.aclose()

    n, c = args.requests, args.concurrency
    loop = "uvloop" if importlib.util.find_spec("uvloop") else "asyncio"
    http = "httptools" if importlib.util.find_spec("httptools") else "h11"
    print(
        f"api benchmark: {n} timed requests per phase after {args.warmup} warm-up, concurrency {c}, "
        f"loopback HTTP/1.1 keep-alive, {os.cpu_count()} CPUs"
    )
    print(f"  each app in its own uvicorn process (1 worker, {loop} + {http}); load generator: httpx in this process")
    print(
        "  API: log level WARNING (access lines not written), rate limits 10**9/min (limiter runs, never trips), "
        "no worker"
    )
    print(f"  {'':<32} {'req/s':>9} {'p50 ms':>9} {'p99 ms':>9} {'errors':>7}")
    for result in (bare, intake, dashboard):
        print(f"  {result.label:<32} {result.rate:9.1f} {result.pct(50):9.2f} {result.pct(99):9.2f} {result.errors:7d}")
    for result in (bare, intake, dashboard):
        if result.first_error:
            print(f"  first error, {result.label}: {result.first_error}")
    ratio = intake.rate / bare.rate
    print(f"  ratio intake / bare insert:      {ratio:6.2f}   (target >= 0.50: {'met' if ratio >= 0.5 else 'NOT met'})")
    print(f"  ratio dashboard / bare insert:   {dashboard.rate / bare.rate:6.2f}")
    print(
        "  per request in the timed run, CPU ms:  server  client  postgres  redis  anvil | "
        "new PG connections | machine busy (other load), cores"
    )
    for result in (bare, intake, dashboard):
        per = {k: 1000 * v / result.answered for k, v in result.cpu.items()}
        ours = sum(result.cpu[k] for k in ("server", "client", "postgres", "redis", "anvil")) / result.elapsed
        busy = result.cpu["machine"] / result.elapsed
        print(
            f"    {result.label:<34} {per['server']:7.2f} {per['client']:7.2f} {per['postgres']:9.2f} "
            f"{per['redis']:6.2f} {per['anvil']:6.2f} | {result.cpu['connections']:18.0f} | "
            f"{busy:4.2f} of {os.cpu_count()} ({max(0.0, busy - ours):4.2f})"
        )
    print(
        f"  checked: {stored} invoices stored and {stream_length} ids on the intake stream (expected {total} each); "
        f"{bare_rows} bare rows; the limiter counted {limiter_counted} API requests (in its windows still kept)"
    )
    print(
        "  (postgres: the bench database's backends alive at the end, so not those the pool opened and closed during"
        " the run; redis: the whole Redis server, shared with other users; other load: busy time none of these used)"
    )
    print("  figures are noisy: the machine is shared (a test suite may be running); compare within one run")
    print(f"  wall time: {time.monotonic() - _STARTED:.1f} s (imports, set-up, warm-ups and teardown included)")
    failures = [r.label for r in (bare, intake, dashboard) if r.errors]
    if failures or stored != total or stream_length != total or bare_rows != total:
        raise SystemExit(f"the run had failures: errors in {failures or 'no phase'}; see the checks above")


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=2000, help="timed requests per phase (default 2000)")
    parser.add_argument("--concurrency", type=int, default=16, help="concurrent client tasks (default 16)")
    parser.add_argument("--warmup", type=int, default=200, help="untimed requests per phase first (default 200)")
    parser.add_argument("--bare-server", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if not args.bare_server and (args.requests < 1 or args.concurrency < 1 or args.warmup < 0):
        parser.error("--requests and --concurrency must be at least 1, --warmup at least 0")
    return args


if __name__ == "__main__":
    arguments = _arguments()
    if arguments.bare_server:
        serve_bare(arguments.port)
    else:
        asyncio.run(main(arguments))
