"""Timestamps in API answers: always with their zone. SQLite (the demo) hands them back naive; they were
written in UTC, and clients are told so."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import AfterValidator

from finance.models import as_utc

UtcDatetime = Annotated[datetime, AfterValidator(as_utc)]
