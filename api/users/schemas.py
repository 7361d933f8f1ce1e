"""Bodies of the sign-in and user endpoints."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, Field


class TokenOut(BaseModel):
    """The original design's `/token` answer, plus what a client needs to stay signed in."""

    access_token: str
    token_type: str = "bearer"
    expires_in: int = Field(description="Seconds until the access token expires.")
    refresh_token: str = Field(description="Trade it at `POST /token/refresh` for a new pair; it works once.")


class RefreshIn(BaseModel):
    refresh_token: str = Field(min_length=8, max_length=200)


class UserIn(BaseModel):
    email: str = Field(max_length=200, examples=["controller@example.com"])
    password: str = Field(max_length=200, examples=["a long passphrase of yours"])
    roles: list[str] = Field(min_length=1, examples=[["approver"]])


class UserOut(BaseModel):
    id: uuid.UUID
    email: str
    roles: list[str]
    active: bool
    created_at: datetime
