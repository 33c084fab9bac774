"""The HTTP side of the simple-salesforce client: ``_TimeoutSession`` (a timeout on every
request, a request count, a 429's Retry-After) and the registration of session ids with
Airflow's secrets masker (``_mask``)."""

from __future__ import annotations

import threading

import requests


class _TimeoutSession(requests.Session):
    """A requests session with a default timeout, so every call the libraries make (REST,
    login, Bulk API polling) is bounded. Trust comes from REQUESTS_CA_BUNDLE as usual."""

    def __init__(self, timeout: float | tuple[float, float]) -> None:
        super().__init__()
        self.default_timeout = timeout
        self.requests_made = 0
        self._count_lock = threading.Lock()  # collection calls run on several threads
        self.retry_after: float | None = None  # the last 429's Retry-After, in seconds

    def request(self, method, url, *args, **kwargs):
        kwargs.setdefault("timeout", self.default_timeout)
        with self._count_lock:
            self.requests_made += 1
        response = super().request(method, url, *args, **kwargs)
        # simple-salesforce's exceptions carry no headers: keep a 429's Retry-After here. (With
        # calls at once a neighbour's answer may clear it before it is read: that retry then
        # backs off by the policy alone.)
        self.retry_after = (
            _seconds(response.headers.get("Retry-After")) if response.status_code == 429 else None
        )
        return response


def _seconds(value: str | None) -> float | None:
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


def _mask(secret: str | None) -> None:
    """Register a token with Airflow's secrets masker (task logs redact it)."""
    if not secret:
        return
    try:
        from airflow.sdk.log import mask_secret
    except ImportError:  # pragma: no cover - only without the Task SDK
        return
    mask_secret(secret)
