"""What a policy can decide, and which decision is stricter."""

from __future__ import annotations

import enum
from collections.abc import Iterable


class Action(enum.StrEnum):
    ALLOW = "allow"
    REQUIRE_APPROVAL = "require_approval"
    BLOCK = "block"


SEVERITY: dict[Action, int] = {Action.ALLOW: 0, Action.REQUIRE_APPROVAL: 1, Action.BLOCK: 2}


def strictest(actions: Iterable[Action]) -> Action:
    """The strictest of `actions` (block > require_approval > allow). Raises ValueError when empty."""
    return max(actions, key=SEVERITY.__getitem__)
