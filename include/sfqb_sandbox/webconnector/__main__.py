"""``python -m sfqb_sandbox.webconnector``: run the Web Connector emulator.

python -m sfqb_sandbox.webconnector run --qwc FILE --password P --company URL [--once]
    [--every SECONDS] [--sessions N] [--timeout SECONDS] [--noop-wait SECONDS]
    [--ca-bundle PATH] [--company-ca-bundle PATH] [--log FILE]

Prints one JSON line per session (outcome, QBWC code, calls, percentages, errors). Exits 0 when
the last session ended without an error (done, no work, busy), 1 otherwise, 2 when the .qwc is
refused. Stops on Ctrl-C or SIGTERM.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
from pathlib import Path

from .company import HttpCompany
from .qwc import QwcError, read_qwc
from .schedule import Scheduler
from .session import ConnectorSettings, SessionRecord, WebConnector

FINE = ("done", "no_work", "busy")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m sfqb_sandbox.webconnector",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="run update sessions against the .qwc's service")
    run.add_argument("--qwc", type=Path, required=True, help="the application's .qwc file")
    run.add_argument("--password", required=True, help="the password QBWC would store")
    run.add_argument("--company", required=True, help="base URL of the company emulator")
    run.add_argument("--once", action="store_true", help="one session, then exit")
    run.add_argument("--every", type=float, help="seconds between sessions (default: the .qwc)")
    run.add_argument("--sessions", type=int, help="stop after this many sessions")
    run.add_argument("--timeout", type=float, default=100.0, help="SOAP call timeout, seconds")
    run.add_argument("--noop-wait", type=float, default=5.0, help="pause after NoOp, seconds")
    run.add_argument("--ca-bundle", help="CA bundle trusted for the service's TLS")
    run.add_argument("--company-ca-bundle", help="CA bundle trusted for the company emulator")
    run.add_argument("--log", type=Path, help="append QWCLog-style lines to this file")
    return parser


def summary(record: SessionRecord) -> dict:
    return {
        "app": record.app_name,
        "started_at": record.started_at,
        "ended_at": record.ended_at,
        "outcome": record.outcome,
        "error_code": record.error_code,
        "calls": record.methods,
        "percent_done": record.percent_done,
        "errors": record.errors,
        "last_error": record.last_error,
        "close_message": record.close_message,
    }


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        qwc = read_qwc(args.qwc)
    except QwcError as exc:
        print(str(exc), file=sys.stderr)
        return 2
    settings = ConnectorSettings(
        call_timeout=args.timeout,
        noop_wait=args.noop_wait,
        verify=args.ca_bundle or True,
        log_path=args.log,
    )
    company = HttpCompany(args.company, verify=args.company_ca_bundle or True)
    try:
        connector = WebConnector(qwc, args.password, company, settings)
    except ValueError as exc:
        print(str(exc), file=sys.stderr)
        return 2
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    scheduler = Scheduler(connector, every_seconds=args.every)

    def report(record: SessionRecord) -> None:
        print(json.dumps(summary(record)), flush=True)

    try:
        if args.once:
            records = [scheduler.run_once(stop)]
            report(records[-1])
        else:
            records = scheduler.run(stop, max_sessions=args.sessions, on_session=report)
    except ValueError as exc:
        print(str(exc), file=sys.stderr)
        return 2
    finally:
        company.shutdown()
    return 0 if records and records[-1].outcome in FINE else 1


if __name__ == "__main__":
    sys.exit(main())
