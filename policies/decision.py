"""What the evaluator returns: the action, the approval tier, and the reasons with the numbers they used."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from policies.actions import Action
from policies.document import ApprovalTier


class Reason(BaseModel):
    """A rule that fired: its id (or "builtin:amount" / "builtin:default"), a sentence for people, and every
    number it compared, as strings so that the decision log stores exactly what was compared."""

    model_config = ConfigDict(frozen=True)

    rule: str
    message: str
    inputs: dict[str, str] = Field(default_factory=dict)


class Decision(BaseModel):
    model_config = ConfigDict(frozen=True)

    action: Action
    tier: ApprovalTier | None  # set only when action is require_approval and the policy defines tiers
    reasons: list[Reason]
    policy_version: int

    @property
    def summary(self) -> str:
        return "; ".join(r.message for r in self.reasons)
