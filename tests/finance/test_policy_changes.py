"""Publishing policies with four eyes, on PostgreSQL: a change that only tightens applies at once; one that
loosens waits for a second person (told apart by user id, not by name), and every step is in the decision log."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import pytest
import pytest_asyncio
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from finance import policy_changes
from finance.db import create_engine, session_factory
from finance.errors import FourEyesRequired
from finance.identity import Actor
from finance.models import Decision, PolicyStatus, PolicyVersion
from finance.policy_changes import PolicyInvalid, StaleProposal
from finance.policy_store import PolicyConflict, PolicyStore
from policies.defaults import starter_policy
from policies.loosening import FIRST_VERSION

ALICE = Actor(user_id=uuid.uuid4(), name="alice")
BOB = Actor(user_id=uuid.uuid4(), name="bob")
STARTER = starter_policy(Decimal("5000"), "USD")


@pytest_asyncio.fixture
async def sessions(database_url: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = create_engine(database_url)
    factory = session_factory(engine)
    async with factory.begin() as session:
        await policy_changes.install_starter(session, STARTER, by="treasurer", comment="starter")
    yield factory
    await engine.dispose()


def with_limit(limit: str) -> dict[str, Any]:
    document = STARTER.model_dump(mode="json")
    for rule in document["rules"]:
        if rule["id"] in ("per-invoice-limit", "within-limit"):
            rule["max_amount"] = limit
    return document


async def draft(sessions: async_sessionmaker[AsyncSession], document: dict[str, Any]) -> uuid.UUID:
    async with sessions.begin() as session:
        return (await PolicyStore(session).create_draft(document, "alice", created_by_user_id=ALICE.user_id)).id


async def active_limit(sessions: async_sessionmaker[AsyncSession]) -> tuple[int, str]:
    async with sessions() as session:
        row = await PolicyStore(session).active()
    rule = next(r for r in row.document["rules"] if r["id"] == "per-invoice-limit")
    return row.version, rule["max_amount"]


async def policy_decisions(sessions: async_sessionmaker[AsyncSession]) -> list[tuple[str, str]]:
    async with sessions() as session:
        rows = await session.scalars(select(Decision).where(Decision.step == "policy").order_by(Decision.id))
        return [(row.outcome, row.actor) for row in rows]


async def test_a_tightening_applies_at_once(sessions: async_sessionmaker[AsyncSession]) -> None:
    draft_id = await draft(sessions, with_limit("1000"))
    async with sessions.begin() as session:
        row = await policy_changes.publish(session, draft_id, ALICE)
    assert row.status == PolicyStatus.ACTIVE and row.version == 2 and row.loosenings is None
    assert await active_limit(sessions) == (2, "1000")
    assert await policy_decisions(sessions) == [("policy_published", "alice")]


async def test_a_loosening_waits_for_a_second_person(sessions: async_sessionmaker[AsyncSession]) -> None:
    draft_id = await draft(sessions, with_limit("10000"))
    async with sessions.begin() as session:
        row = await policy_changes.publish(session, draft_id, ALICE)
        assert row.status == PolicyStatus.PROPOSED and row.version is None and row.base_version == 1
        assert row.proposed_by == "alice" and row.proposed_by_user_id == ALICE.user_id
        assert row.loosenings == [
            "rule per-invoice-limit: max_amount 5000 -> 10000",
            "rule within-limit: max_amount 5000 -> 10000",
        ]
    assert await active_limit(sessions) == (1, "5000")

    # The proposer cannot approve, not even under another name (another credential of the same user); nor can
    # the treasurer itself, which has no user id.
    for who in (ALICE, Actor(user_id=ALICE.user_id, name="alice's api key"), Actor.system()):
        with pytest.raises(FourEyesRequired) as refused:
            async with sessions.begin() as session:
                await policy_changes.approve(session, draft_id, who)
        assert refused.value.status_code == 403 and refused.value.code == "four_eyes"
    assert await active_limit(sessions) == (1, "5000")
    async with sessions.begin() as session:
        with pytest.raises(PolicyConflict, match="already awaits"):
            await policy_changes.publish(session, draft_id, ALICE)
        with pytest.raises(PolicyConflict, match="not a draft"):
            await PolicyStore(session).update_draft(draft_id, with_limit("99999"), None)

    # Another person, even one who shows the same display name: the user id decides.
    async with sessions.begin() as session:
        row = await policy_changes.approve(session, draft_id, Actor(user_id=BOB.user_id, name="alice"))
        assert row.status == PolicyStatus.ACTIVE and row.version == 2
        assert row.approved_by_user_id == BOB.user_id and row.approved_at is not None
    assert await active_limit(sessions) == (2, "10000")
    assert await policy_decisions(sessions) == [("policy_proposed", "alice"), ("policy_approved", "alice")]
    async with sessions.begin() as session:
        with pytest.raises(PolicyConflict, match="not a proposal"):
            await policy_changes.approve(session, draft_id, BOB)


async def test_either_person_may_reject(sessions: async_sessionmaker[AsyncSession]) -> None:
    for rejecter in (ALICE, BOB):
        draft_id = await draft(sessions, with_limit("10000"))
        async with sessions.begin() as session:
            await policy_changes.publish(session, draft_id, ALICE)
        async with sessions.begin() as session:
            row = await policy_changes.reject(session, draft_id, rejecter, reason="too high")
            assert row.status == PolicyStatus.REJECTED and row.rejected_by_user_id == rejecter.user_id
        async with sessions.begin() as session:
            with pytest.raises(PolicyConflict):
                await policy_changes.approve(session, draft_id, BOB)
            with pytest.raises(PolicyConflict):
                await policy_changes.publish(session, draft_id, ALICE)
    assert await active_limit(sessions) == (1, "5000")
    outcomes = [outcome for outcome, _ in await policy_decisions(sessions)]
    assert outcomes == ["policy_proposed", "policy_rejected"] * 2


async def test_a_proposal_approved_against_a_changed_base_is_refused(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    loose = await draft(sessions, with_limit("10000"))
    async with sessions.begin() as session:
        await policy_changes.publish(session, loose, ALICE)
    tight = await draft(sessions, with_limit("4000"))
    async with sessions.begin() as session:
        assert (await policy_changes.publish(session, tight, BOB)).version == 2

    with pytest.raises(StaleProposal) as stale:
        async with sessions.begin() as session:
            await policy_changes.approve(session, loose, BOB)
    assert stale.value.status_code == 409 and "version 1 -> 2" in stale.value.message
    assert await active_limit(sessions) == (2, "4000")

    # Publishing it again proposes it against the current version, with the loosenings recomputed.
    async with sessions.begin() as session:
        row = await policy_changes.publish(session, loose, ALICE)
        assert row.status == PolicyStatus.PROPOSED and row.base_version == 2
        assert row.loosenings[0] == "rule per-invoice-limit: max_amount 4000 -> 10000"
    async with sessions.begin() as session:
        assert (await policy_changes.approve(session, loose, BOB)).version == 3
    assert await active_limit(sessions) == (3, "10000")


async def test_invalid_documents_are_never_judged(sessions: async_sessionmaker[AsyncSession]) -> None:
    broken = {**STARTER.model_dump(mode="json"), "default_action": "allow"}
    draft_id = await draft(sessions, broken)
    with pytest.raises(PolicyInvalid, match="default_action"):
        async with sessions.begin() as session:
            await policy_changes.publish(session, draft_id, ALICE)


async def test_the_first_version_needs_two_people_and_the_starter_only_a_new_installation(database_url: str) -> None:
    engine = create_engine(database_url)
    sessions = session_factory(engine)
    draft_id = await draft(sessions, STARTER.model_dump(mode="json"))
    async with sessions.begin() as session:
        row = await policy_changes.publish(session, draft_id, ALICE)
        assert row.status == PolicyStatus.PROPOSED and row.loosenings == [FIRST_VERSION] and row.base_version is None
    async with sessions.begin() as session:
        assert (await policy_changes.approve(session, draft_id, BOB)).version == 1
    with pytest.raises(PolicyConflict, match="new installation"):
        async with sessions.begin() as session:
            await policy_changes.install_starter(session, STARTER, by="treasurer", comment="again")
    async with sessions() as session:
        assert [v.status for v in await session.scalars(select(PolicyVersion))] == [PolicyStatus.ACTIVE]
    await engine.dispose()


async def test_the_treasurer_itself_never_proposes_a_loosening(sessions: async_sessionmaker[AsyncSession]) -> None:
    # Nobody could be the second person of a change with no proposer, so it is refused before it is stored.
    draft_id = await draft(sessions, with_limit("10000"))
    with pytest.raises(FourEyesRequired):
        async with sessions.begin() as session:
            await policy_changes.publish(session, draft_id, Actor.system())
    async with sessions.begin() as session:
        assert (
            await policy_changes.publish(session, await draft(sessions, with_limit("10")), Actor.system())
        ).version == 2


async def test_racing_approvals_publish_once(sessions: async_sessionmaker[AsyncSession]) -> None:
    draft_id = await draft(sessions, with_limit("10000"))
    async with sessions.begin() as session:
        await policy_changes.publish(session, draft_id, ALICE)

    async def approve(who: Actor) -> str:
        try:
            async with sessions.begin() as session:
                return f"version {(await policy_changes.approve(session, draft_id, who)).version}"
        except PolicyConflict:
            return "conflict"

    carol = Actor(user_id=uuid.uuid4(), name="carol")
    results = await asyncio.gather(*(approve(who) for who in (BOB, carol, BOB, carol)))
    assert sorted(results) == ["conflict"] * 3 + ["version 2"]
    assert await active_limit(sessions) == (2, "10000")
    assert [o for o, _ in await policy_decisions(sessions)] == ["policy_proposed", "policy_approved"]


async def test_a_stale_proposal_that_no_longer_loosens_applies_at_once(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    loose = await draft(sessions, with_limit("6000"))
    async with sessions.begin() as session:
        await policy_changes.publish(session, loose, ALICE)
    # Meanwhile someone else's proposal raising the limit further is approved.
    higher = await draft(sessions, with_limit("8000"))
    async with sessions.begin() as session:
        await policy_changes.publish(session, higher, BOB)
    async with sessions.begin() as session:
        await policy_changes.approve(session, higher, ALICE)
    # Against version 2 (8000), 6000 only tightens.
    async with sessions.begin() as session:
        row = await policy_changes.publish(session, loose, ALICE)
        assert row.status == PolicyStatus.ACTIVE and row.version == 3
        assert row.loosenings is None and row.proposed_by is None and row.base_version is None
    assert await active_limit(sessions) == (3, "6000")
