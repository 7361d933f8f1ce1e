"""Assemble a running treasurer: database, chain, token, checkpointer and the compiled graph.

Used by every entry point (the API, the worker, the CLI demo, the tests and the benchmarks), so
they all run the same graph over the same services.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver
from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver
from langgraph.types import Command
from psycopg.rows import dict_row
from psycopg_pool import AsyncConnectionPool
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from agents.approvals.dispatch import ApprovalDispatch, InlineDispatch, QueuedDispatch, announce
from agents.approvals.mail import ApprovalMailer
from agents.context import TreasurerContext
from agents.extraction.service import InvoiceExtractor
from agents.graph import build_treasurer_graph
from agents.policy_versions import ensure_active_policy
from finance.approvals.lifecycle import claim_resume
from finance.approvals.queries import request_for_invoice
from finance.approvals.queue import ApprovalQueue
from finance.chain.bootstrap import bootstrap_dev_chain
from finance.chain.client import ChainClient
from finance.chain.token import resolve_token
from finance.db import create_engine, session_factory
from finance.identity import Actor
from finance.invoices import InvoiceRepository
from finance.logs import bind_invoice
from finance.models import Invoice, InvoiceStatus, utcnow
from finance.payments.repository import PaymentRepository
from finance.payments.service import PaymentService
from finance.settings import Settings
from notifications.transport import transport_from_settings
from tools.payments import build_payment_tools
from tools.treasury import build_treasury_tools


@dataclass(frozen=True)
class InvoiceResult:
    invoice_id: uuid.UUID
    status: InvoiceStatus
    reason: str | None
    tx_hash: str | None
    approval_id: uuid.UUID | None = None


class Treasurer:
    def __init__(
        self,
        engine: AsyncEngine,
        context: TreasurerContext,
        graph,
        *,
        mailer: ApprovalMailer,
        approval_queue: ApprovalQueue | None,
    ) -> None:
        self.engine = engine
        self.context = context
        self.graph = graph
        self.mailer = mailer
        # None in the single-process embedded default, where approvals are dispatched inline.
        self.approval_queue = approval_queue

    @property
    def approvals(self) -> ApprovalDispatch:
        return self.context.approvals

    @property
    def sessions(self) -> async_sessionmaker[AsyncSession]:
        return self.context.sessions

    async def submit(
        self,
        raw_text: str,
        submitted_by: Actor | str | None = None,
        *,
        document: bytes | None = None,
        document_type: str | None = None,
        text_source: str = "text",
        ocr_doubtful_spans: Sequence[Sequence[int]] | None = None,
    ) -> uuid.UUID:
        """Store an invoice. A bare name as submitter (scripts, tests) carries no user id: it can never be
        taken for a person, so it never passes a "someone else" check either."""
        submitter = Actor(user_id=None, name=submitted_by) if isinstance(submitted_by, str) else submitted_by
        async with self.sessions.begin() as session:
            invoice = await InvoiceRepository(session).create(
                raw_text,
                submitter,
                document=document,
                document_type=document_type,
                text_source=text_source,
                ocr_doubtful_spans=None if ocr_doubtful_spans is None else [list(span) for span in ocr_doubtful_spans],
            )
            return invoice.id

    async def process(self, invoice_id: uuid.UUID) -> InvoiceResult:
        """Run (or resume) the invoice's thread to its end. Safe to call again for the same invoice."""
        with bind_invoice(invoice_id):  # every log line of this run carries the invoice id
            await self.graph.ainvoke(
                {"invoice_id": str(invoice_id)},
                config={"configurable": {"thread_id": f"invoice:{invoice_id}"}},
                context=self.context,
                # Checkpoint when the run exits or pauses (an interrupt), not after every node: each node
                # is idempotent against the database, so a run cut short simply starts again and skips the
                # work already committed. This removes a checkpoint write per node from the hot path.
                durability="exit",
            )
        return await self.result(invoice_id)

    async def resume_approval(self, request_id: uuid.UUID, *, now: datetime | None = None) -> InvoiceResult | None:
        """Wake the thread waiting on a decided approval request. None when there is nothing to do: not
        decided yet, already resumed to its end, or another worker holds the resume.

        The right to resume is taken in PostgreSQL first, so of any number of workers holding a copy of
        the same queue entry one resumes and the others stand down. If the winner dies mid-run, the thread
        is still at its checkpoint and the lease lets another worker resume it; every node after the wait
        is idempotent, so the payment is still made at most once."""
        now = now or utcnow()
        # Long enough for the payment to be signed, sent and confirmed (or given up on) within one run.
        lease = timedelta(seconds=2 * self.context.settings.receipt_timeout_seconds + 60)
        async with self.sessions.begin() as session:
            request = await claim_resume(session, request_id, now=now, lease=lease)
            if request is None:
                return None
            invoice_id, status = request.invoice_id, request.status
        config = {"configurable": {"thread_id": f"invoice:{invoice_id}"}}
        snapshot = await self.graph.aget_state(config)
        if snapshot.interrupts:
            payload = Command(resume={"status": status, "approval_request_id": str(request_id)})
        else:
            # No pending interrupt (the thread died before it checkpointed its wait): run it again from the
            # start; every step finds its earlier work and the request's status routes it on.
            payload = {"invoice_id": str(invoice_id)}
        with bind_invoice(invoice_id):
            await self.graph.ainvoke(payload, config=config, context=self.context, durability="exit")
        return await self.result(invoice_id)

    async def result(self, invoice_id: uuid.UUID) -> InvoiceResult:
        async with self.sessions() as session:
            invoice: Invoice = await InvoiceRepository(session).get(invoice_id)
            payment_tx = None
            if invoice.status in (InvoiceStatus.PAID, InvoiceStatus.PAYING, InvoiceStatus.FAILED):
                payment = await PaymentRepository(session).for_invoice(invoice_id)
                payment_tx = payment.tx_hash if payment else None
            request = await request_for_invoice(session, invoice_id)
            return InvoiceResult(
                invoice.id, InvoiceStatus(invoice.status), invoice.reason, payment_tx, request.id if request else None
            )


@asynccontextmanager
async def open_treasurer(
    settings: Settings,
    *,
    bootstrap_chain: bool = False,
    mail_echo=None,
) -> AsyncIterator[Treasurer]:
    async with AsyncExitStack() as stack:
        engine = create_engine(settings.database_url)
        stack.push_async_callback(engine.dispose)
        sessions = session_factory(engine)
        chain = await ChainClient.connect(settings)
        stack.push_async_callback(chain.close)
        # The in-process EVM is born empty with every process: the stablecoin must be put on it each time.
        if bootstrap_chain or settings.embedded_chain:
            async with sessions.begin() as session:
                await bootstrap_dev_chain(session, chain)
        async with sessions() as session:
            token = await resolve_token(session, chain, settings)
        await ensure_active_policy(sessions, settings)
        checkpointer = await stack.enter_async_context(_checkpointer(settings.database_url))
        extractor = InvoiceExtractor(settings)
        stack.push_async_callback(extractor.aclose)
        mailer = ApprovalMailer(sessions, transport_from_settings(settings, echo=mail_echo), settings)
        approval_queue = None
        if settings.embedded_chain:
            # One process, no workers: approvals are dispatched inline (see agents.approvals.dispatch).
            approvals: ApprovalDispatch = InlineDispatch()
        else:
            redis = Redis.from_url(settings.redis_url, socket_timeout=5, socket_connect_timeout=5)
            stack.push_async_callback(redis.aclose)
            approval_queue = ApprovalQueue(redis, settings)
            approvals = QueuedDispatch(approval_queue)
        context = TreasurerContext(
            settings=settings,
            sessions=sessions,
            chain=chain,
            token=token,
            extractor=extractor,
            payment_tools=build_payment_tools(PaymentService(sessions, chain, token)),
            treasury_tools=build_treasury_tools(sessions, chain, token),
            approvals=approvals,
        )
        treasurer = Treasurer(
            engine,
            context,
            build_treasurer_graph().compile(checkpointer=checkpointer),
            mailer=mailer,
            approval_queue=approval_queue,
        )
        if isinstance(approvals, InlineDispatch):
            approvals.bind(mailer.send, treasurer.resume_approval, lambda rid: announce(sessions, approvals, rid))
        yield treasurer


@asynccontextmanager
async def _checkpointer(database_url: str):
    """LangGraph checkpoints beside the system of record: PostgreSQL, or a SQLite file in the demo."""
    if database_url.startswith("sqlite"):
        db_path = database_url.split("///", 1)[-1]
        path = Path(db_path).with_name(Path(db_path).stem + "-checkpoints.db") if db_path != ":memory:" else None
        async with AsyncSqliteSaver.from_conn_string(str(path) if path else ":memory:") as saver:
            yield saver
        return
    conninfo = database_url.replace("postgresql+psycopg://", "postgresql://", 1)
    async with AsyncConnectionPool(
        conninfo,
        min_size=1,
        max_size=10,
        open=False,
        kwargs={"autocommit": True, "row_factory": dict_row, "prepare_threshold": 0},
    ) as pool:
        saver = AsyncPostgresSaver(pool)
        await saver.setup()
        yield saver
