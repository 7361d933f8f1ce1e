"""What can go wrong with an approval, each with the status the API answers."""

from __future__ import annotations

from finance.errors import TreasurerError


class ApprovalImpossible(TreasurerError):
    """Policy asks for an approval nobody can give (no tier, too few approvers besides the submitter)."""

    status_code = 422
    code = "approval_impossible"


class NotAnApprover(TreasurerError):
    status_code = 403
    code = "not_an_approver"


class ApprovalClosed(TreasurerError):
    """The request was already approved, rejected, expired or cancelled: a late vote changes nothing."""

    status_code = 409
    code = "approval_closed"


class AlreadyVoted(TreasurerError):
    status_code = 409
    code = "already_voted"


class LinkAlreadyUsed(TreasurerError):
    status_code = 409
    code = "link_used"
