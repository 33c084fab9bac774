"""``python -m sfqb``: operator commands.

    python -m sfqb state show                 # every piece of sync state, as JSON
    python -m sfqb state reset STREAM         # one stream's watermark (e.g. quickbooks.Customer)
    python -m sfqb state reset matching       # first-run matching runs again on the next run
    python -m sfqb state reset migration      # the historical migration may run again
    python -m sfqb state reset watermarks     # every watermark: the next run re-reads from the install date
    python -m sfqb state reset --all          # everything above, and the recorded install date

They act on the Airflow metadata database named by the usual Airflow configuration
(AIRFLOW_HOME / AIRFLOW__DATABASE__SQL_ALCHEMY_CONN): run them where `airflow` commands work.
"""

from __future__ import annotations

import argparse
import json
import sys


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m sfqb", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = parser.add_subparsers(dest="command", required=True)
    state = sub.add_parser("state", help="inspect or reset the sync state")
    state_sub = state.add_subparsers(dest="action", required=True)
    state_sub.add_parser("show", help="print the sync state")
    reset = state_sub.add_parser("reset", help="delete part of the sync state")
    group = reset.add_mutually_exclusive_group(required=True)
    group.add_argument("target", nargs="?", help="a stream, watermarks, install, matching or migration")
    group.add_argument("--all", action="store_true", help="reset every piece of sync state")
    args = parser.parse_args(argv)

    from sfqb.state import MetadataDbVariables, SyncState

    store = SyncState(MetadataDbVariables())
    if args.action == "show":
        print(json.dumps(store.show(), indent=2, sort_keys=True))
        return 0
    try:
        removed = store.reset(None if args.all else args.target)
    except KeyError as exc:
        print(f"sfqb: {exc.args[0]}", file=sys.stderr)
        return 2
    for key in removed:
        print(f"reset {key}")
    if not removed:
        print("nothing to reset: the sync state is empty")
    return 0


if __name__ == "__main__":
    sys.exit(main())
