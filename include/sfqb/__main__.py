"""``python -m sfqb``: operator commands.

    python -m sfqb state show                 # every piece of sync state, as JSON
    python -m sfqb state reset STREAM         # one stream's watermark (e.g. quickbooks.Customer)
    python -m sfqb state reset matching       # first-run matching runs again on the next run
    python -m sfqb state reset customers.export  # the next run considers every customer again
    python -m sfqb state reset warnings       # forget open warnings and alert times (all new again)
    python -m sfqb state reset migration      # the historical migration may run again
    python -m sfqb state reset lease          # release the run lease (its holder died; R-GEN-10)
    python -m sfqb state reset watermarks     # every watermark: the next run re-reads from
                                              # the install date
    python -m sfqb state reset --all          # everything above, and the recorded install date
    python -m sfqb mapping show [PAIR] [--file F]  # the effective field maps:
                                                   # defaults + custom rows
    python -m sfqb mapping docs [--write docs/mapping.md]  # the reference table of the default maps

The state commands act on the Airflow metadata database named by the usual Airflow configuration
(AIRFLOW_HOME / AIRFLOW__DATABASE__SQL_ALCHEMY_CONN): run them where `airflow` commands work
(in this repository: AIRFLOW_HOME=.airflow, or .demo/airflow after `make demo`); without one
they say so and exit 2. `mapping show --file F` needs no Airflow database; without --file it
reads the file named by the preference custom_mappings_path (Variable sfqb.preferences), and
without a database it shows the default maps with a note that custom rows were not read.
"""

from __future__ import annotations

import argparse
import json
import sys


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m sfqb",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", required=True)
    state = sub.add_parser("state", help="inspect or reset the sync state")
    state_sub = state.add_subparsers(dest="action", required=True)
    state_sub.add_parser("show", help="print the sync state")
    reset = state_sub.add_parser("reset", help="delete part of the sync state")
    group = reset.add_mutually_exclusive_group(required=True)
    group.add_argument(
        "target",
        nargs="?",
        help=(
            "a stream, watermarks, install, matching, customers.export, warnings, migration or "
            "lease"
        ),
    )
    group.add_argument("--all", action="store_true", help="reset every piece of sync state")
    mapping = sub.add_parser("mapping", help="show the effective field mappings")
    mapping_sub = mapping.add_subparsers(dest="action", required=True)
    show = mapping_sub.add_parser("show", help="print the effective map of every pair, or of PAIR")
    show.add_argument("pair", nargs="?", help="one pair, e.g. customer_to_account")
    show.add_argument(
        "--file", help="a custom mapping file (default: the custom_mappings_path preference)"
    )
    docs = mapping_sub.add_parser(
        "docs", help="print the reference table of the default maps (Markdown)"
    )
    docs.add_argument(
        "--write", metavar="DOC", help="rewrite the generated part of DOC (docs/mapping.md) instead"
    )
    args = parser.parse_args(argv)
    if args.command == "mapping":
        return _mapping(args)

    from sfqb.state import LEASE_PREFIX, MetadataDbVariables, SyncState, metadata_db_problem

    problem = metadata_db_problem()
    if problem:
        print(f"sfqb: {problem}", file=sys.stderr)
        return 2
    store = SyncState(MetadataDbVariables())
    if args.action == "show":
        print(json.dumps(store.show(), indent=2, sort_keys=True))
        return 0
    before = store.show()
    try:
        removed = store.reset(None if args.all else args.target)
    except KeyError as exc:
        print(f"sfqb: {exc.args[0]}", file=sys.stderr)
        return 2
    for key in removed:
        lease = before.get(key) if key.startswith(LEASE_PREFIX) else None
        print(
            f"reset {key}"
            + (
                f" ({lease['dag_id']} run {lease['run_id']}: {lease['state']}, last "
                f"heartbeat {lease['heartbeat_age_seconds']:.0f} s ago)"
                if lease
                else ""
            )
        )
    if not removed:
        print(
            f"nothing to reset for {args.target!r}"
            if args.target == "lease"
            else "nothing to reset: the sync state is empty"
        )
    return 0


def _mapping(args) -> int:
    """``mapping show`` / ``mapping docs`` (sfqb.mapping.report)."""
    from sfqb.mapping import report

    if args.action == "docs":
        if args.write:
            print(
                f"{args.write}: "
                f"{'updated' if report.update_doc(args.write) else 'already up to date'}"
            )
        else:
            print(report.reference(), end="")
        return 0
    if args.file:
        from pathlib import Path

        from sfqb.preferences import Preferences

        prefs = Preferences(custom_mappings_path=str(Path(args.file).resolve()))
    else:
        from sfqb.preferences import VARIABLE_KEY, Preferences, parse_preferences
        from sfqb.state import MetadataDbVariables, metadata_db_problem

        problem = metadata_db_problem()
        if problem:  # the default maps need no database
            print(
                f"sfqb: custom mapping rows were not read, these are the default maps: {problem}",
                file=sys.stderr,
            )
        prefs = (
            Preferences() if problem else parse_preferences(MetadataDbVariables().get(VARIABLE_KEY))
        )
    try:
        text, problems = report.show(prefs, args.pair)
    except KeyError as exc:
        print(f"sfqb: {exc.args[0]}", file=sys.stderr)
        return 2
    print(text, end="")
    for line in problems:
        print(f"sfqb: {line}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
