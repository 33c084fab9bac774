"""The python-quickbooks client the hook calls through (``_Client``: a timeout on every
request, the last response kept per thread) and the registration of secrets with Airflow's
masker (``_mask``)."""

from __future__ import annotations

import logging
import threading

import requests
from quickbooks import QuickBooks

# requests-oauthlib (under python-quickbooks) logs every request's bearer and refresh tokens at
# DEBUG, verbatim; nothing else it logs is worth a credential in a log (R-OPS-4).
logging.getLogger("requests_oauthlib").setLevel(logging.INFO)


class _Client(QuickBooks):
    """python-quickbooks with a timeout on every request (a hung server must not hang a task)
    and the last response kept per thread (its status and Retry-After decide retries)."""

    timeout: tuple[float, float] = (10.0, 120.0)

    def process_request(self, request_type, url, headers="", params="", data=""):
        self._last.response = None
        response = self.session.request(
            request_type,
            url,
            headers={**headers, "Authorization": "Bearer " + self.session.access_token},
            params=params,
            data=data.encode("utf-8") if isinstance(data, str) else data,
            timeout=self.timeout,
        )
        self._last.response = response
        return response

    @property
    def _last(self) -> threading.local:
        local = self.__dict__.get("_local")
        if local is None:
            local = self.__dict__["_local"] = threading.local()
        return local

    @property
    def last_response(self) -> requests.Response | None:
        return getattr(self._last, "response", None)


_MASKED: set[str] = set()


def _mask(secret: str | None) -> None:
    """Register a token or secret with Airflow's secrets masker (task logs redact it). Once
    per value: inside a task each registration is also a message to the supervisor."""
    if not secret or secret in _MASKED:
        return
    _MASKED.add(secret)
    try:
        from airflow.sdk.log import mask_secret
    except ImportError:  # pragma: no cover - only without the Task SDK
        return
    mask_secret(secret)
