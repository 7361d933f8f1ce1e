"""FastAPI dependencies, as `Annotated` aliases routes declare in their signatures.

`async def` although they do no I/O: FastAPI runs a plain `def` dependency on its thread pool, two thread
hops per request for nothing (bench/api.py)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from redis.asyncio import Redis

from agents.extraction.document_readers import DocumentReaders
from agents.runtime import Treasurer
from finance.settings import Settings
from finance.streams import InvoiceIntake


async def _treasurer(request: Request) -> Treasurer:
    return request.app.state.treasurer


async def _redis(request: Request) -> Redis:
    return request.app.state.redis


async def _settings(request: Request) -> Settings:
    return request.app.state.settings


async def _intake(request: Request) -> InvoiceIntake:
    settings: Settings = request.app.state.settings
    return InvoiceIntake(request.app.state.redis, settings.intake_stream, settings.worker_group)


async def _document_readers(request: Request) -> DocumentReaders:
    return request.app.state.document_readers


TreasurerDep = Annotated[Treasurer, Depends(_treasurer)]
RedisDep = Annotated[Redis, Depends(_redis)]
SettingsDep = Annotated[Settings, Depends(_settings)]
IntakeDep = Annotated[InvoiceIntake, Depends(_intake)]
DocumentReadersDep = Annotated[DocumentReaders, Depends(_document_readers)]
