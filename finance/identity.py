"""Who is acting. Every credential (access token, web session, API key, approval link, the CLI's `--as`)
resolves to one user id, and every "not the same person" check compares those ids: a person who signs in
one way and approves another is still one person.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Literal

from finance.errors import FourEyesRequired

Credential = Literal["access_token", "web_session", "api_key", "approval_link", "cli", "system"]


@dataclass(frozen=True)
class Actor:
    """The person (or the treasurer itself) behind one step. `name` is what logs and pages show; `user_id`
    is what identity checks compare. The treasurer's own steps have no user id."""

    user_id: uuid.UUID | None
    name: str

    @classmethod
    def system(cls, name: str = "treasurer") -> Actor:
        return cls(user_id=None, name=name)

    @property
    def user_key(self) -> str | None:
        return str(self.user_id) if self.user_id else None


@dataclass(frozen=True)
class Principal:
    """An authenticated caller: one user, the roles the credential carries (never more than the user has),
    and how they proved it."""

    user_id: uuid.UUID
    name: str  # the user's e-mail, case-folded
    roles: frozenset[str]
    credential: Credential = "access_token"

    @property
    def actor(self) -> Actor:
        return Actor(user_id=self.user_id, name=self.name)


def require_other_person(actor: Actor, others: list[str | None] | set[str | None], refusal: str) -> None:
    """Refuse `actor` when they are one of `others` (user ids as strings). An actor without a user id is never
    a second person: nobody could tell who else it might be."""
    if actor.user_id is None or str(actor.user_id) in {o for o in others if o}:
        raise FourEyesRequired(refusal)
