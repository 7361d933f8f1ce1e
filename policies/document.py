"""The policy document: ordered rules, approver groups and approval tiers, validated as a whole."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError, field_validator, model_validator

from policies.actions import Action
from policies.money import Floor, Limit
from policies.rules import Name, Rule

SCHEMA_VERSION = 1

Currency = Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$")]


class ApproverGroup(BaseModel):
    """People who may approve: user ids or e-mail addresses, each counted once towards a quorum."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    members: list[Name] = Field(min_length=1)
    description: str = ""

    @field_validator("members")
    @classmethod
    def _distinct(cls, members: list[str]) -> list[str]:
        # A member listed twice (even in another case) would let one person count as two approvals.
        seen: dict[str, str] = {}
        for member in members:
            key = member.casefold()
            if key in seen:
                raise ValueError(f"{member!r} is listed twice (as {seen[key]!r})")
            seen[key] = member
        return members


class ApprovalTier(BaseModel):
    """Who approves an invoice whose amount is in [min_amount, max_amount): `quorum` of the group's members.
    `max_amount` None means no upper bound. The submitter of an invoice approves it only when
    `initiator_may_approve` (enforced by the approvals service, not here). The request closes as rejected
    after `rejections_to_close` rejections, or as soon as the quorum can no longer be reached."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: Name
    min_amount: Floor
    max_amount: Limit | None = None
    group: Name
    quorum: int = Field(ge=1)
    initiator_may_approve: bool = False
    # How many rejections close the request. One, by default: anyone with doubts can stop a payment.
    rejections_to_close: int = Field(default=1, ge=1)
    # Members of this group are added and asked when the reminder goes out and the quorum is still missing.
    escalation_group: Name | None = None

    @model_validator(mode="after")
    def _band(self) -> ApprovalTier:
        if self.max_amount is not None and self.max_amount <= self.min_amount:
            raise ValueError(f"max_amount {self.max_amount} must be greater than min_amount {self.min_amount}")
        return self

    def contains(self, amount: Decimal) -> bool:
        return self.min_amount <= amount and (self.max_amount is None or amount < self.max_amount)

    @property
    def band(self) -> str:
        return f"[{self.min_amount}, {'∞' if self.max_amount is None else self.max_amount})"


class PolicyDocument(BaseModel):
    """A treasury policy: stored as JSON, versioned by whoever stores it, evaluated by `policies.evaluator`.

    Shape
    -----
    - `schema_version`: the layout of this document (this engine reads 1); the policy's own version number
      (draft, publish, history) lives beside the document and is passed to `evaluate`.
    - `currency`: ISO code the stablecoin stands for; invoices in any other currency are caught by a
      `currency` rule.
    - `rules`: ORDERED list; each has a unique `id`, a human `description`, a `kind` and `enabled`.
      Kinds: amount_limit, velocity, budget, unknown_vendor, payee_change, duplicate, extraction, currency,
      funds, runway_floor, allow (see `policies.rules`).
    - `groups`: name -> ApproverGroup(members, description).
    - `tiers`: ApprovalTier bands [min_amount, max_amount) naming a group and a quorum; bands may leave gaps
      but never overlap.
    - `default_action`: what happens when no rule fires: require_approval or block, never allow.

    Precedence
    ----------
    1. A missing or non-positive amount always blocks (reason "builtin:amount"); it cannot be configured away.
    2. Every enabled rule is evaluated, in document order; disabled rules are skipped.
    3. An invoice is *covered* when at least one `allow` rule fired. For an uncovered invoice `default_action`
       counts as one more fired action (fail closed); when no rule fires at all, the result is `default_action`.
    4. The STRICTEST of those actions wins: block > require_approval > allow. Rule order never changes the
       action, only the order of the reasons.
    5. The reasons are the fired rules whose action is the winning one, in document order; when no fired rule
       has it (the default decided), the single reason "builtin:default".
    6. Hence `allow` comes only from an `allow` rule, and only when nothing stricter fired. An `allow` rule
       says "this kind of invoice may be paid"; the restricting rules then raise it to approval or block.
    7. On require_approval, the tier is the one whose band contains the amount; when the amount falls in a gap
       (or is unknown), the highest band (largest min_amount) decides, so a gap never lowers the bar. With no
       tiers the tier is None. Block and allow carry no tier.

    (3) is what keeps limits monotone when `default_action` is block: were the default applied only when
    nothing fired, an uncovered invoice crossing a require_approval limit would be loosened from block to
    approval. With default require_approval both readings give the same action.

    Example
    -------
    {"schema_version": 1, "currency": "USD", "default_action": "require_approval",
     "rules": [{"id": "known-vendors", "kind": "unknown_vendor", "action": "block"},
               {"id": "big", "kind": "amount_limit", "max_amount": "5000", "action": "require_approval"},
               {"id": "small", "kind": "allow", "max_amount": "5000"}],
     "groups": {"finance": {"members": ["cfo@example.com", "controller@example.com"]}},
     "tiers": [{"id": "standard", "min_amount": "0", "max_amount": "50000", "group": "finance", "quorum": 1},
               {"id": "large", "min_amount": "50000", "group": "finance", "quorum": 2}]}
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    schema_version: int = SCHEMA_VERSION
    currency: Currency
    rules: list[Rule]
    groups: dict[str, ApproverGroup] = Field(default_factory=dict)
    tiers: list[ApprovalTier] = Field(default_factory=list)
    default_action: Action = Action.REQUIRE_APPROVAL

    @field_validator("schema_version")
    @classmethod
    def _known_schema(cls, version: int) -> int:
        if version != SCHEMA_VERSION:
            raise ValueError(f"schema_version {version} is not supported; this engine reads {SCHEMA_VERSION}")
        return version

    @field_validator("default_action")
    @classmethod
    def _fail_closed(cls, action: Action) -> Action:
        if action is Action.ALLOW:
            raise ValueError("default_action must be require_approval or block (fail closed), not allow")
        return action

    @model_validator(mode="after")
    def _consistent(self) -> PolicyDocument:
        # Every problem at once: whoever edits a draft fixes them in one round, not one per save.
        problems: list[str] = []

        first_rule: dict[str, int] = {}
        for index, rule in enumerate(self.rules):
            if rule.id in first_rule:
                problems.append(f"rules[{index}].id: {rule.id!r} is already used by rules[{first_rule[rule.id]}]")
            else:
                first_rule[rule.id] = index

        first_tier: dict[str, int] = {}
        for index, tier in enumerate(self.tiers):
            where = f"tiers[{index}]"
            if tier.id in first_tier:
                problems.append(f"{where}.id: {tier.id!r} is already used by tiers[{first_tier[tier.id]}]")
            else:
                first_tier[tier.id] = index
            group = self.groups.get(tier.group)
            if group is None:
                known = ", ".join(sorted(self.groups)) or "none defined"
                problems.append(f"{where}.group: unknown group {tier.group!r} (known: {known})")
            elif tier.quorum > len(group.members):
                problems.append(
                    f"{where}.quorum: {tier.quorum} exceeds the {len(group.members)} member(s) of group {tier.group!r}"
                )
            elif tier.rejections_to_close > len(group.members):
                problems.append(
                    f"{where}.rejections_to_close: {tier.rejections_to_close} exceeds the {len(group.members)} "
                    f"member(s) of group {tier.group!r}"
                )
            if tier.escalation_group is not None and tier.escalation_group not in self.groups:
                problems.append(f"{where}.escalation_group: unknown group {tier.escalation_group!r}")
            for other_index, other in enumerate(self.tiers[:index]):
                if _overlap(tier, other):
                    problems.append(
                        f"{where}: band {tier.band} overlaps tiers[{other_index}] {other.id!r} {other.band}"
                    )
                    break

        if problems:
            raise ValueError("; ".join(problems))
        return self


def _overlap(a: ApprovalTier, b: ApprovalTier) -> bool:
    a_below_b = a.max_amount is not None and a.max_amount <= b.min_amount
    b_below_a = b.max_amount is not None and b.max_amount <= a.min_amount
    return not (a_below_b or b_below_a)


def describe_errors(error: ValidationError) -> list[str]:
    """One line per problem, each starting with the field's path as an editor writes it: `rules[2].max_amount:
    Input should be greater than 0`. Pydantic's own paths carry the rule kind (`rules.2.velocity.max_amount`)."""
    lines: list[str] = []
    for detail in error.errors():
        path = ""
        previous: object = None
        for part in detail["loc"]:
            if isinstance(part, int):
                path += f"[{part}]"
            elif not (isinstance(previous, int) and path.startswith("rules[") and path.count("[") == 1):
                path += f".{part}" if path else str(part)
            previous = part
        message = detail["msg"].removeprefix("Value error, ")
        lines.append(f"{path}: {message}" if path else message)
    return lines
