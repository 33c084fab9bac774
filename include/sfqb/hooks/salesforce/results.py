"""The outcome of each record of a write: ``CollectionResult`` and its ``RecordIssue``s, read
from sObject Collections' SaveResults (``parse_collection_results``) or from a Bulk API 2.0
job's ``sf__Error`` cell (``_bulk_issue``)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from ..errors import SyncServiceError


class RecordIssue(NamedTuple):
    """One error Salesforce reported for one record (``statusCode``, ``message``, ``fields``)."""

    status_code: str
    message: str
    fields: list[str]


@dataclass(frozen=True)
class CollectionResult:
    """The outcome of one input record of a write, keyed by the caller's key.

    ``created`` is True/False for upserts (and True for creates), None when not known.
    """

    key: Any
    ok: bool
    id: str | None = None
    created: bool | None = None
    errors: list[RecordIssue] = field(default_factory=list)

    @property
    def error_codes(self) -> list[str]:
        return [e.status_code for e in self.errors]


def parse_collection_results(
    items: Sequence[Mapping] | None, keys: Sequence[Any]
) -> list[CollectionResult]:
    """sObject Collections SaveResults (in request order) -> one CollectionResult per key."""
    items = list(items or [])
    if len(items) != len(keys):
        raise SyncServiceError(
            "Salesforce returned a result list of the wrong length",
            code="RESULT_MISMATCH",
            detail=f"{len(items)} for {len(keys)}",
        )
    out = []
    for key, item in zip(keys, items, strict=True):
        errors = [
            RecordIssue(
                str(e.get("statusCode") or e.get("errorCode") or "UNKNOWN"),
                str(e.get("message") or ""),
                list(e.get("fields") or []),
            )
            for e in item.get("errors") or []
        ]
        ok = bool(item.get("success"))
        out.append(
            CollectionResult(
                key=key, ok=ok, id=item.get("id"), created=item.get("created"), errors=errors
            )
        )
    return out


def _bulk_issue(text: str) -> RecordIssue:
    """``REQUIRED_FIELD_MISSING:Required fields are missing: [Name]:Name --`` -> RecordIssue."""
    code, _, rest = text.partition(":")
    message, fields = rest, []
    head, sep, tail = rest.rpartition(":")
    if sep and tail.strip().endswith("--"):
        message = head
        fields = [f for f in tail.strip()[:-2].strip().split(",") if f]
    return RecordIssue(code.strip() or "UNKNOWN", message.strip(), fields)
