"""The OpenAPI document, told the truth about errors: every error answer has one shape, `{"detail", "code"}`
(plus `errors` for invalid requests), not FastAPI's default validation-error layout."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from pydantic import BaseModel, Field


class ErrorOut(BaseModel):
    detail: str = Field(examples=["raw_text: raw_text is empty; send the invoice's text"])
    code: str = Field(examples=["invalid_request"])
    errors: list[dict[str, Any]] | None = Field(
        default=None, description="For invalid requests: each problem with its location."
    )


def install(app: FastAPI) -> None:
    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        schema = get_openapi(
            title=app.title, version=app.version, summary=app.summary, description=app.description, routes=app.routes
        )
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        components["HTTPValidationError"] = ErrorOut.model_json_schema(ref_template="#/components/schemas/{model}")
        components.pop("ValidationError", None)
        app.openapi_schema = schema
        return schema

    app.openapi = openapi
