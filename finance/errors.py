"""One base class for every business error, carrying the HTTP status it maps to.

Business errors are final: retrying a bad invoice or a policy refusal cannot make it succeed.
Transient faults (a node that times out, a dropped connection) are `TransientError` and are
the only ones the retry policies look at.
"""

from __future__ import annotations


class TreasurerError(Exception):
    status_code: int = 400
    code: str = "treasurer_error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    @property
    def headers(self) -> dict[str, str]:
        """HTTP headers the answer carries besides the body (`Retry-After` on a 429 or a 503)."""
        return {}


class InvalidInvoice(TreasurerError):
    status_code = 422
    code = "invalid_invoice"


class NotFound(TreasurerError):
    status_code = 404
    code = "not_found"


class ChainMisconfigured(TreasurerError):
    status_code = 503
    code = "chain_misconfigured"


class PaymentRejected(TreasurerError):
    """The chain or the token refused the payment (a revert, status 0, insufficient funds)."""

    status_code = 409
    code = "payment_rejected"


class TransientError(TreasurerError):
    status_code = 503
    code = "transient"


class FourEyesRequired(TreasurerError):
    """One person tried to be both people of a four-eyes control (propose and approve, register and verify,
    submit and approve). Compared on user ids, whatever credential each step used."""

    status_code = 403
    code = "four_eyes"
