"""A value read from the document, with where it was read and how sure the rule that read it is."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Generic, TypeVar

from agents.extraction.schemas import FieldEvidence

T = TypeVar("T")


@dataclass(frozen=True)
class Found(Generic[T]):
    value: T
    span: tuple[int, int] | None  # None when derived (e.g. a due date computed from payment terms)
    confidence: float

    def evidence(self) -> FieldEvidence:
        return FieldEvidence(confidence=self.confidence, span=self.span)
