"""One "worker process" of the token durability tests (test_quickbooks_token_durability.py).

Run as ``python qb_token_worker.py '<json>'`` in the environment of a task that uses
``quickbooks_default`` (the test sets it): builds a QuickBooksHook whose shared token store is a
file (standing for the Airflow Variable every machine sees) and whose token directory (lock and
local copy) stands for this worker's machine, then counts customers, which refreshes the token.

Arguments (JSON): ``store`` (the shared file), ``token_dir``, optional ``ready``/``go`` (files:
written when set up / waited for before the count, so several workers refresh at once) and
``hang`` with a ``marker`` file: ``"on_save"`` stops for good when the rotated token is being
saved to the shared store (after the local copy), ``"after_answer"`` right after the token
endpoint answered (before anything is written); the marker says the worker got there, and the
test kills it. Prints ``{"count", "refreshes"}`` as JSON.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from sfqb.hooks.quickbooks import QuickBooksHook
from sfqb.hooks.retry import RetryPolicy
from sfqb.hooks.token_store import FileTokenStore


def _stop_here(marker: str) -> None:
    Path(marker).write_text("here")
    while True:  # until killed
        time.sleep(60)


class SharedStore(FileTokenStore):
    """The shared file; with ``hang="on_save"`` the save of a refresh's answer never returns."""

    def __init__(self, path: str, hang: str | None, marker: str | None) -> None:
        super().__init__(path)
        self.hang, self.marker = hang, marker

    def save(self, state) -> None:
        if self.hang == "on_save" and state.refreshing is None and state.generation > 0:
            _stop_here(self.marker)
        super().save(state)


def main(args: dict) -> None:
    hook = QuickBooksHook(
        token_store=SharedStore(args["store"], args.get("hang"), args.get("marker")),
        token_dir=args["token_dir"],
        timeout=(5.0, 30.0),
        retry_policy=RetryPolicy(max_attempts=3, base_delay=0.05, max_delay=0.2),
    )
    if args.get("hang") == "after_answer":
        refresh = hook._refresh

        def answered_then_stopped(token):
            refresh(token)
            _stop_here(args["marker"])

        hook._refresh = answered_then_stopped
    hook.auth_client  # noqa: B018 - the discovery document, fetched before the start signal
    if args.get("ready"):
        Path(args["ready"]).write_text("ready")
    if args.get("go"):
        deadline = time.monotonic() + 120
        while not Path(args["go"]).exists():
            if time.monotonic() > deadline:
                raise SystemExit("no start signal")
            time.sleep(0.005)
    try:
        count = hook.count("Customer")
        print(
            json.dumps({"count": count, "refreshes": hook.calls.snapshot().get("token.refresh", 0)})
        )
    finally:
        hook.close()


if __name__ == "__main__":
    main(json.loads(sys.argv[1]))
