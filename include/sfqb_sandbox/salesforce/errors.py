"""Salesforce REST errors: an HTTP status plus a JSON list of ``{message, errorCode, fields}``."""

from __future__ import annotations

from fastapi.responses import JSONResponse


class SFError(Exception):
    """One Salesforce error. ``status`` is the HTTP status of a single-record call."""

    def __init__(self, code: str, message: str, fields: list[str] | None = None, status: int = 400):
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.fields = fields or []
        self.status = status

    def rest_body(self) -> list[dict]:
        body: dict = {"message": self.message, "errorCode": self.code}
        if self.fields:
            body["fields"] = self.fields
        return [body]

    def save_error(self) -> dict:
        """The per-record form used by sObject Collections (``statusCode``, not ``errorCode``)."""
        return {"statusCode": self.code, "message": self.message, "fields": self.fields}

    def response(self, headers: dict | None = None) -> JSONResponse:
        return JSONResponse(self.rest_body(), status_code=self.status, headers=headers)


def not_found() -> SFError:
    return SFError("NOT_FOUND", "The requested resource does not exist", status=404)


def invalid_session() -> SFError:
    return SFError("INVALID_SESSION_ID", "Session expired or invalid", status=401)
