"""Benchmark: the approval path on anvil + PostgreSQL + Redis + SMTP. How fast approval requests are opened
and their mails sent, beside a raw Redis stream round trip in the same run; and how long an approving POST
takes to become a broadcast payment.

    python bench/approvals.py [--requests 200] [--concurrency 8] [--workers 1]

1. Queue throughput. N over-limit invoices (Globex, over the starter policy's 5000 USD limit, submitted by
   cfo@ so controller@ is the one approver, quorum 1) are stored untimed, then processed to their
   `interrupt()` at `--concurrency`: each opens an approval request and queues its id on the requests stream
   -> requests/s. Then `--concurrency` consumers read the requests and notify streams (`read_streams`, as the
   worker does), announce each request (its mail ids to the notify stream, its timer set) and send each mail
   with `ApprovalMailer.send` over a real SMTP hop to aiosmtpd on 127.0.0.1 (a thread of this process),
   acknowledging each entry -> mails/s. The baseline is
   the same shape with nothing but redis-py: N ids XADDed, then XREADGROUP + XACK, at the same concurrency, on
   the same Redis -> ids/s.
2. Latency. With the N requests pending and their mails sent, `--workers` worker processes are started
   (`agents.worker.run_worker`, what `treasurer worker` runs, in a child process of this script so it can note
   when each transaction is broadcast) and the API is served by uvicorn on 127.0.0.1 in this process. The
   approving POSTs (`POST /api/approvals/{id}/approve`, a controller@ JWT) go over loopback HTTP at
   `--concurrency`, each client taking the next request as soon as its last POST returned (closed loop). Per
   request: the POST's own latency, and from the moment the POST was sent to the moment the worker's
   `eth_sendRawTransaction` returned for the payment (the node holds the transaction). Both processes read the
   same system-wide CLOCK_MONOTONIC. The API and the workers do not share an event loop; the HTTP client, the
   API and the SMTP server do share this process.

The offline extractor is used (no LLM). Needs PostgreSQL (TREASURER_TEST_POSTGRES_URL, default
postgresql://postgres@127.0.0.1:5432/test, trust auth), Redis at TREASURER_BENCH_REDIS_URL (default
redis://127.0.0.1:6379/14; that database is flushed at the start and at the end) and the anvil binary
(`make anvil`). It starts its own anvil, database and SMTP server and removes them after.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import socket
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from statistics import median, quantiles

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import httpx
import psycopg
import uvicorn
from pydantic import SecretStr
from redis.asyncio import Redis
from sqlalchemy import func, select

import agents.worker
from agents.approvals.dispatch import announce
from agents.runtime import Treasurer, open_treasurer
from api.app import create_app
from bench.spine import PG_ADMIN_URL, bench_database, bench_settings
from finance.chain.anvil import start_anvil
from finance.chain.client import ChainClient
from finance.models import (
    ApprovalRequest,
    ApprovalStatus,
    InvoiceStatus,
    Payment,
    PaymentAttempt,
    PaymentStatus,
)
from finance.settings import Settings
from finance.streams import InvoiceIntake, read_streams
from tests.fixtures.approvals import globex_invoice
from tests.fixtures.credentials import access_token
from tests.fixtures.smtp import running_smtp_server
from tests.fixtures.vendors import register_sample_vendors

BENCH_REDIS_URL = os.environ.get("TREASURER_BENCH_REDIS_URL", "redis://127.0.0.1:6379/14")
SUBMITTER = "cfo@example.com"
APPROVER = "controller@example.com"
# Every wait in this script ends: a stuck phase fails the run instead of hanging it.
PHASE_TIMEOUT_SECONDS = 600.0


def _now() -> float:
    """Seconds on CLOCK_MONOTONIC, which is one clock for every process on the machine (Linux)."""
    return time.clock_gettime(time.CLOCK_MONOTONIC)


def _amount(n: int) -> Decimal:
    # Over the 5000 limit, under the 50000 where a second approver is needed, and distinct per bill: the same
    # vendor, amount and date twice would be held as a possible duplicate.
    return Decimal(5001 + n % 40_000) + Decimal("0.37")


def _pct(values: list[float], q: int) -> float:
    if len(values) == 1:
        return values[0]
    return quantiles(values, n=100, method="inclusive")[q - 1]


# --- 1. queue throughput -----------------------------------------------------------------------------------------


async def open_requests(treasurer: Treasurer, requests: int, concurrency: int) -> tuple[float, list[uuid.UUID]]:
    """Requests opened per second: over-limit invoices processed to their interrupt. Returns the request ids."""
    invoice_ids = [
        await treasurer.submit(globex_invoice(f"GX-BENCH-{n:06d}", _amount(n)), SUBMITTER) for n in range(requests)
    ]
    counter = iter(invoice_ids)
    statuses: Counter = Counter()

    async def worker() -> None:
        for invoice_id in counter:
            statuses[(await treasurer.process(invoice_id)).status] += 1

    started = _now()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    elapsed = _now() - started
    if statuses[InvoiceStatus.PENDING_APPROVAL] != requests:
        raise SystemExit(f"expected {requests} invoices waiting for approval, got {dict(statuses)}")
    async with treasurer.sessions() as session:
        rows = dict((await session.execute(select(ApprovalRequest.invoice_id, ApprovalRequest.id))).all())
    pending = [rows[i] for i in invoice_ids if i in rows]
    if len(pending) != requests:
        raise SystemExit(f"{requests} invoices wait for approval but {len(pending)} requests exist")
    return requests / elapsed, pending


async def send_mails(treasurer: Treasurer, expected: int, concurrency: int) -> float:
    """Mails per second: each new request announced (fanned out into its mail ids and timer), then the notify
    stream drained through the mailer to the SMTP server, as a worker does."""
    queue = treasurer.approval_queue
    stream = queue.notify
    outcomes: Counter = Counter()
    handled = 0
    finished: float | None = None
    deadline = _now() + PHASE_TIMEOUT_SECONDS

    async def consumer(k: int) -> None:
        nonlocal handled, finished
        while handled < expected and _now() < deadline:
            for entry in await read_streams([queue.requests, stream], f"bench-mailer-{k}", count=1, block_ms=100):
                if entry.stream == queue.requests.stream:
                    await announce(treasurer.sessions, treasurer.approvals, entry.item_id)
                    await queue.requests.ack(entry.entry_id)
                    continue
                outcomes[await treasurer.mailer.send(entry.item_id)] += 1
                await stream.ack(entry.entry_id)
                handled += 1
                if handled == expected:
                    finished = _now()  # the others may still sit in a blocking read; that tail is not work

    started = _now()
    await asyncio.gather(*(consumer(k) for k in range(concurrency)))
    if finished is None or outcomes["sent"] != expected:
        raise SystemExit(f"expected {expected} mails sent, got {dict(outcomes)} from {handled} entries")
    return expected / (finished - started)


async def raw_stream_round_trips(redis: Redis, ids: int, concurrency: int) -> float:
    """The baseline: the same number of ids through a Redis stream with nothing but redis-py."""
    stream, group = "bench:approvals:raw", "bench"
    await redis.delete(stream)
    await redis.xgroup_create(stream, group, id="0", mkstream=True)
    counter = iter(range(ids))
    handled = 0
    finished: float | None = None
    deadline = _now() + PHASE_TIMEOUT_SECONDS

    async def producer() -> None:
        for _ in counter:
            await redis.xadd(stream, {"id": str(uuid.uuid4())})

    async def consumer(k: int) -> None:
        nonlocal handled, finished
        while handled < ids and _now() < deadline:
            response = await redis.xreadgroup(group, f"raw-{k}", {stream: ">"}, count=1, block=100)
            for _, entries in response or []:
                for entry_id, _fields in entries:
                    await redis.xack(stream, group, entry_id)
                    handled += 1
                    if handled == ids:
                        finished = _now()

    started = _now()
    await asyncio.gather(*(producer() for _ in range(concurrency)))
    await asyncio.gather(*(consumer(k) for k in range(concurrency)))
    await redis.delete(stream)
    if finished is None:
        raise SystemExit(f"only {handled}/{ids} ids came back through the raw stream")
    return ids / (finished - started)


# --- 2. latency: approving POST -> broadcast --------------------------------------------------------------------


@dataclass(frozen=True)
class LatencyRun:
    post_ms: list[float]  # the POST's own round trip
    to_broadcast_ms: list[float]  # POST sent -> eth_sendRawTransaction returned in the worker
    pickup_ms: list[float]  # POST returned -> a worker began the resume
    resume_ms: list[float]  # resume began -> broadcast
    rate: float  # approvals per second from the first POST to the last broadcast


# A worker process: its consumer name, where it writes its timings, the process.
Worker = tuple[str, Path, asyncio.subprocess.Process]


def worker_environment(settings: Settings) -> dict[str, str]:
    """The benchmark's settings as the environment a worker process reads them from (secrets included, as in
    production); nothing else of ours is inherited, so a TREASURER_ or OPENAI_ variable here cannot leak in."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TREASURER_", "OPENAI_"))}
    for name, value in settings.model_dump().items():
        if value is None:
            continue
        if isinstance(value, SecretStr):
            value = value.get_secret_value()
        env[f"TREASURER_{name.upper()}"] = str(value)
    return env


async def start_workers(settings: Settings, workers: int, folder: Path) -> list[Worker]:
    env = worker_environment(settings)
    started = []
    for k in range(workers):
        name, out = f"bench-worker-{k}", folder / f"worker-{k}.json"
        process = await asyncio.create_subprocess_exec(
            sys.executable, __file__, "--worker-child", name, "--worker-out", str(out), env=env
        )
        started.append((name, out, process))
    return started


async def wait_workers_ready(workers: list[Worker]) -> None:
    """A worker is ready once it has made its first read of the queues (it then blocks on all its streams)."""
    deadline = _now() + 120
    while _now() < deadline:
        for _, _, process in workers:
            if process.returncode is not None:
                raise SystemExit(f"a worker process exited at start with {process.returncode}")
        if all(_ready_marker(out).exists() for _, out, _ in workers):
            return
        await asyncio.sleep(0.05)
    raise SystemExit("the worker processes did not start within 120 s")


def _ready_marker(out: Path) -> Path:
    return out.with_suffix(".ready")


async def stop_workers(workers: list[Worker]) -> None:
    for _, _, process in workers:
        if process.returncode is None:
            process.send_signal(signal.SIGTERM)  # run_worker finishes what it holds, then returns
    for _, _, process in workers:
        try:
            await asyncio.wait_for(process.wait(), timeout=60)
        except TimeoutError:
            process.kill()
            await process.wait()


def read_worker_notes(workers: list[Worker]) -> tuple[dict[str, float], dict[str, float]]:
    broadcast_at: dict[str, float] = {}
    resumed_at: dict[str, float] = {}
    for name, out, _ in workers:
        if not out.exists():
            raise SystemExit(f"{name} left no timings at {out}")
        notes = json.loads(out.read_text())
        for key, merged in (("broadcast", broadcast_at), ("resumed", resumed_at)):
            for item, at in notes[key].items():
                merged[item] = min(at, merged.get(item, at))
    return broadcast_at, resumed_at


@asynccontextmanager
async def serving(settings: Settings) -> AsyncIterator[str]:
    """The real app under uvicorn on a loopback port, in this process's event loop."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(create_app(settings), lifespan="on", log_level="warning", access_log=False))
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        deadline = _now() + 60
        while not server.started:
            if task.done() or _now() > deadline:
                raise SystemExit("the API did not start")
            await asyncio.sleep(0.02)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        try:
            await asyncio.wait_for(task, timeout=30)
        finally:
            sock.close()


async def approve_to_broadcast(
    treasurer: Treasurer, settings: Settings, request_ids: list[uuid.UUID], concurrency: int, workers: int
) -> LatencyRun:
    token = await access_token(settings, APPROVER, "approver")
    posted: dict[uuid.UUID, tuple[float, float]] = {}
    with tempfile.TemporaryDirectory(prefix="bench-approvals-") as folder:
        children = await start_workers(settings, workers, Path(folder))
        try:
            await wait_workers_ready(children)
            async with (
                serving(settings) as base_url,
                httpx.AsyncClient(
                    base_url=base_url, headers={"Authorization": f"Bearer {token}"}, timeout=30, trust_env=False
                ) as client,
            ):
                # Untimed: opens connections and warms the route's code paths. A GET changes nothing.
                warm = await client.get(f"/api/approvals/{request_ids[0]}")
                warm.raise_for_status()
                counter = iter(request_ids)

                async def approver() -> None:
                    for request_id in counter:
                        sent = _now()
                        response = await client.post(f"/api/approvals/{request_id}/approve", json={})
                        posted[request_id] = (sent, _now())
                        if response.status_code != 200 or response.json()["status"] != ApprovalStatus.APPROVED:
                            raise SystemExit(f"approve {request_id}: {response.status_code} {response.text}")

                await asyncio.gather(*(approver() for _ in range(concurrency)))
            await wait_all_settled(treasurer, len(request_ids), children)
        finally:
            await stop_workers(children)
        broadcast_at, resumed_at = read_worker_notes(children)

    async with treasurer.sessions() as session:
        rows = (
            await session.execute(
                select(ApprovalRequest.id, PaymentAttempt.tx_hash)
                .join(Payment, Payment.invoice_id == ApprovalRequest.invoice_id)
                .join(PaymentAttempt, PaymentAttempt.payment_id == Payment.id)
            )
        ).all()
        sent_at: dict[uuid.UUID, float] = {}
        for request_id, tx_hash in rows:
            if tx_hash in broadcast_at:
                sent_at[request_id] = min(broadcast_at[tx_hash], sent_at.get(request_id, broadcast_at[tx_hash]))
    missing = [r for r in request_ids if r not in sent_at or str(r) not in resumed_at]
    if missing:
        raise SystemExit(f"{len(missing)} approvals have no broadcast or resume noted, e.g. {missing[0]}")
    ms = 1000.0
    return LatencyRun(
        post_ms=[ms * (posted[r][1] - posted[r][0]) for r in request_ids],
        to_broadcast_ms=[ms * (sent_at[r] - posted[r][0]) for r in request_ids],
        pickup_ms=[ms * (resumed_at[str(r)] - posted[r][1]) for r in request_ids],
        resume_ms=[ms * (sent_at[r] - resumed_at[str(r)]) for r in request_ids],
        rate=len(request_ids) / (max(sent_at.values()) - min(p[0] for p in posted.values())),
    )


async def wait_all_settled(treasurer: Treasurer, payments: int, workers: list[Worker]) -> None:
    deadline = _now() + PHASE_TIMEOUT_SECONDS
    while _now() < deadline:
        async with treasurer.sessions() as session:
            by_status = dict(
                (await session.execute(select(Payment.status, func.count()).group_by(Payment.status))).all()
            )
        if by_status.get(PaymentStatus.CONFIRMED, 0) == payments:
            return
        if by_status.get(PaymentStatus.FAILED, 0):
            raise SystemExit(f"payments failed: {by_status}")
        if any(process.returncode is not None for _, _, process in workers):
            raise SystemExit(f"a worker process died; payments {by_status}")
        await asyncio.sleep(0.05)
    raise SystemExit(f"not all {payments} payments confirmed within {PHASE_TIMEOUT_SECONDS:.0f} s")


# --- the worker process ------------------------------------------------------------------------------------------


def _write_notes(out: Path, broadcast_at: dict[str, float], resumed_at: dict[str, float]) -> None:
    out.write_text(json.dumps({"broadcast": broadcast_at, "resumed": resumed_at}))


async def worker_child(consumer: str, out: Path) -> None:
    """`treasurer worker`, noting when it begins each resume and when each transaction has been sent."""
    broadcast_at: dict[str, float] = {}
    resumed_at: dict[str, float] = {}
    original_broadcast, original_resume = ChainClient.broadcast, Treasurer.resume_approval
    original_read = agents.worker.read_streams

    async def broadcast(self, raw_tx: str, tx_hash: str) -> None:
        await original_broadcast(self, raw_tx, tx_hash)
        broadcast_at.setdefault(tx_hash, _now())

    async def resume_approval(self, request_id: uuid.UUID, **options):
        resumed_at.setdefault(str(request_id), _now())
        return await original_resume(self, request_id, **options)

    async def read_streams(*args, **options):
        marker = _ready_marker(out)
        if not marker.exists():
            marker.touch()  # the worker has opened the treasurer, reconciled, and now waits for work
        return await original_read(*args, **options)

    ChainClient.broadcast = broadcast
    Treasurer.resume_approval = resume_approval
    agents.worker.read_streams = read_streams
    try:
        await agents.worker.run_worker(Settings(_env_file=None), consumer=consumer)
    finally:
        _write_notes(out, broadcast_at, resumed_at)


# --- main ----------------------------------------------------------------------------------------------------------


async def main(args: argparse.Namespace) -> None:
    wall = _now()
    redis = Redis.from_url(BENCH_REDIS_URL)
    await redis.flushdb()
    node = start_anvil()
    admin = psycopg.connect(PG_ADMIN_URL, autocommit=True)
    databases: list[str] = []
    try:
        with running_smtp_server() as smtp, tempfile.TemporaryDirectory(prefix="bench-outbox-") as outbox:
            name, url = await bench_database(admin)
            databases.append(name)
            settings = bench_settings(
                url,
                node.url,
                redis_url=BENCH_REDIS_URL,
                llm_model=None,
                # Enough for every payment: the funds and runway rules must not be what decides.
                bootstrap_mint=Decimal(10**9),
                smtp_host=smtp.host,
                smtp_port=smtp.port,
                smtp_security="none",
                outbox_dir=Path(outbox),
            )
            async with open_treasurer(settings, bootstrap_chain=True) as treasurer:
                await register_sample_vendors(treasurer)
                # The groups exist before anything is queued, so the workers find the queues whole.
                await treasurer.approval_queue.ensure_groups()
                await InvoiceIntake(redis, settings.intake_stream, settings.worker_group).ensure_group()

                open_rate, request_ids = await open_requests(treasurer, args.requests, args.concurrency)
                mail_rate = await send_mails(treasurer, args.requests, args.concurrency)
                if len(smtp.messages) != args.requests:
                    raise SystemExit(f"the SMTP server received {len(smtp.messages)} of {args.requests} mails")
                raw_rate = await raw_stream_round_trips(redis, args.requests, args.concurrency)
                latency = await approve_to_broadcast(treasurer, settings, request_ids, args.concurrency, args.workers)
    finally:
        node.stop()
        for name in databases:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()
        await redis.flushdb()
        await redis.aclose()

    n, c = args.requests, args.concurrency
    print(
        f"approvals benchmark: {n} requests, concurrency {c}, {args.workers} worker process(es), "
        f"anvil automine + PostgreSQL + Redis, SMTP to aiosmtpd on loopback, {os.cpu_count()} CPUs"
    )
    print(f"  approval requests opened (invoice processed to its interrupt): {open_rate:8.1f} /s")
    print(f"  approval mails sent (announce -> notify -> mailer -> SMTP): {mail_rate:8.1f} /s")
    print(f"  raw Redis stream round trip (XADD, XREADGROUP, XACK):          {raw_rate:8.1f} ids/s")
    print(f"  ratio opened / raw:                                            {open_rate / raw_rate:8.4f}")
    print(f"  ratio mails / raw:                                             {mail_rate / raw_rate:8.4f}")

    def line(label: str, values: list[float]) -> str:
        return f"  {label:<50} median {median(values):8.1f} ms   p99 {_pct(values, 99):8.1f} ms"

    print(line("approving POST (loopback HTTP, uvicorn):", latency.post_ms))
    print(line("approving POST sent -> payment broadcast:", latency.to_broadcast_ms))
    print(line("  of which POST returned -> worker resumes:", latency.pickup_ms))
    print(line("  of which resume -> broadcast:", latency.resume_ms))
    print(f"  approvals through to broadcast:                                {latency.rate:8.1f} /s")
    print(f"  wall time: {_now() - wall:.1f} s")


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=200, help="approval requests per phase (default 200)")
    parser.add_argument("--concurrency", type=int, default=8, help="concurrent clients and consumers (default 8)")
    parser.add_argument("--workers", type=int, default=1, help="worker processes for the latency phase (default 1)")
    parser.add_argument("--worker-child", metavar="CONSUMER", help=argparse.SUPPRESS)
    parser.add_argument("--worker-out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker_child is None and (args.requests < 1 or args.concurrency < 1 or args.workers < 1):
        parser.error("--requests, --concurrency and --workers must be at least 1")
    return args


if __name__ == "__main__":
    arguments = _arguments()
    if arguments.worker_child:
        asyncio.run(worker_child(arguments.worker_child, arguments.worker_out))
    else:
        asyncio.run(main(arguments))
