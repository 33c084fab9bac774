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
    python -m sfqb salesforce layouts --retrieved DIR --output OUT [--additions DIR]
        # add the package's "QuickBooks Sync" section and related lists to the page layouts
        # retrieved from an org into DIR; writes OUT/main/default/layouts/, to review and
        # deploy with `sf project deploy start --source-dir OUT` (docs/salesforce-package.md)
    python -m sfqb qbwc serve [--host 127.0.0.1] [--port 8765] [--certfile C --keyfile K]
        # the QuickBooks Web Connector service (docs/quickbooks-desktop.md); plain HTTP only on
        # a loopback address unless --allow-plain-http
    python -m sfqb qbwc migrate
        # the queue's database (connection sfqb_qbwc_queue) created when missing (PostgreSQL)
        # and its schema brought up to date; docker-compose.yaml's airflow-init runs it
    python -m sfqb qbwc qwc --url https://HOST/qbwc [--user U] [--minutes N] > sfqb.qwc
        # the .qwc file the QuickBooks admin adds to the Web Connector
    python -m sfqb qbwc status [--sessions N] [--json]
        # the queue: the last poll, jobs per state, unfinished jobs, the latest sessions' errors

The state commands act on the Airflow metadata database named by the usual Airflow configuration
(AIRFLOW_HOME / AIRFLOW__DATABASE__SQL_ALCHEMY_CONN): run them where `airflow` commands work
(in this repository: AIRFLOW_HOME=.airflow, or .demo/airflow after `make demo`); without one
they say so and exit 2. `mapping show --file F` needs no Airflow database; without --file it
reads the file named by the preference custom_mappings_path (Variable sfqb.preferences), and
without a database it shows the default maps with a note that custom rows were not read.
`salesforce layouts` needs neither Airflow nor an org: it reads and writes files only (sf
retrieves and deploys them). The qbwc commands read the connections quickbooks_desktop_default
and sfqb_qbwc_queue (the queue database; a SQLite file under AIRFLOW_HOME without it), never
Airflow's metadata database.
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
    salesforce = sub.add_parser("salesforce", help="prepare the Salesforce package for an org")
    salesforce_sub = salesforce.add_subparsers(dest="action", required=True)
    layouts = salesforce_sub.add_parser(
        "layouts",
        help="add the package's section and related lists to page layouts retrieved from an org",
    )
    layouts.add_argument(
        "--retrieved",
        required=True,
        metavar="DIR",
        help="the folder sf project retrieve start --output-dir wrote (searched recursively)",
    )
    layouts.add_argument(
        "--output",
        required=True,
        metavar="DIR",
        help="where to write the layouts (DIR/main/default/layouts), a folder outside --retrieved",
    )
    layouts.add_argument(
        "--additions",
        metavar="DIR",
        help="the package's layout additions (default: include/salesforce/layout-additions)",
    )
    qbwc = sub.add_parser("qbwc", help="the QuickBooks Web Connector service (QuickBooks Desktop)")
    qbwc_sub = qbwc.add_subparsers(dest="action", required=True)
    serve = qbwc_sub.add_parser("serve", help="run the Web Connector service (uvicorn)")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8765)
    serve.add_argument("--certfile", help="TLS certificate (PEM) the Web Connector will trust")
    serve.add_argument("--keyfile", help="its private key (PEM)")
    serve.add_argument(
        "--allow-plain-http",
        action="store_true",
        help="serve plain HTTP on a non-loopback address (behind a TLS-terminating proxy only)",
    )
    serve.add_argument(
        "--none-wait",
        type=int,
        default=60,
        metavar="SECONDS",
        help="seconds the Web Connector postpones its next update when nothing is queued",
    )
    serve.add_argument(
        "--linger",
        type=float,
        default=120.0,
        metavar="SECONDS",
        help="seconds a session stays open after its last job, for the run's next task "
        "(0: close as soon as nothing is queued)",
    )
    qbwc_sub.add_parser(
        "migrate",
        help="create the queue's PostgreSQL database when missing, then bring its schema up "
        "to date",
    )
    qwc = qbwc_sub.add_parser("qwc", help="print the .qwc file for the Web Connector")
    qwc.add_argument("--url", required=True, help="the service's URL, https://HOST[:PORT]/qbwc")
    qwc.add_argument("--user", help="the Web Connector user (default: the connection's login)")
    qwc.add_argument("--minutes", type=int, default=5, help="run every N minutes (default 5)")
    status = qbwc_sub.add_parser(
        "status", help="the queue: last poll, unfinished jobs, the latest sessions and errors"
    )
    status.add_argument("--sessions", type=int, default=10, help="how many sessions (default 10)")
    status.add_argument("--json", action="store_true", help="print JSON instead of text")
    args = parser.parse_args(argv)
    if args.command == "qbwc":
        return _qbwc(args)
    if args.command == "mapping":
        return _mapping(args)
    if args.command == "salesforce":
        return _salesforce_layouts(args)

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


def _qbwc(args) -> int:
    """``qbwc serve`` / ``qbwc qwc`` / ``qbwc status`` / ``qbwc migrate`` (sfqb.qbwc)."""
    import os

    # These are server-side processes, as Airflow's api-server is: the Task SDK then reads
    # connections from the metadata DB too (after AIRFLOW_CONN_* variables). Outside a task and
    # without this it reads only the variables and secrets backends, so a connection created in
    # the UI would never reach the service (docker-compose.yaml's qbwc service).
    os.environ.setdefault("_AIRFLOW_PROCESS_CONTEXT", "server")
    from sfqb.qbwc import JobQueue
    from sfqb.qbwc.settings import SettingsError, desktop_settings

    if args.action == "status":
        return _qbwc_status(args)
    if args.action == "migrate":
        return _qbwc_migrate()
    if args.action == "qwc":
        import contextlib

        from sfqb.qbwc.qwc import guids, qwc_text

        # stdout is the .qwc (`> sfqb.qwc`): whatever Airflow or the queue log goes to stderr
        with contextlib.redirect_stdout(sys.stderr):
            user = args.user
            try:
                user = user or desktop_settings().user_name
            except SettingsError as exc:
                print(f"sfqb: {exc}; give --user", file=sys.stderr)
                return 2
            try:
                text = qwc_text(args.url, user, *guids(JobQueue.open()), minutes=args.minutes)
            except ValueError as exc:
                print(f"sfqb: {exc}", file=sys.stderr)
                return 2
        print(text, end="")
        return 0
    import logging

    from sfqb.qbwc.app import check_bind, check_tls, serve
    from sfqb.qbwc.service import QbwcService, ServiceSettings

    if bool(args.certfile) != bool(args.keyfile):
        print("sfqb: give both --certfile and --keyfile", file=sys.stderr)
        return 2
    try:
        check_bind(args.host, args.certfile, args.allow_plain_http)
        if args.certfile:
            check_tls(args.certfile, args.keyfile)
    except ValueError as exc:
        print(f"sfqb: {exc}", file=sys.stderr)
        return 2
    queue = JobQueue.open()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    service = QbwcService(
        queue,
        desktop_settings,
        ServiceSettings(none_wait_seconds=args.none_wait, linger_seconds=args.linger),
    )
    serve(
        service,
        args.host,
        args.port,
        certfile=args.certfile,
        keyfile=args.keyfile,
        allow_plain_http=args.allow_plain_http,
    )
    return 0


def _qbwc_status(args) -> int:
    import datetime as dt
    from pathlib import Path

    import sqlalchemy as sa

    from sfqb.qbwc import JobQueue
    from sfqb.qbwc.settings import SettingsError, queue_url
    from sfqb.qbwc.status import queue_status, status_lines

    try:
        url = queue_url()
    except SettingsError as exc:
        print(f"sfqb: {exc}", file=sys.stderr)
        return 2
    database = sa.engine.make_url(url).database
    if url.startswith("sqlite") and not (database and Path(database).exists()):
        # looking must not create an empty queue that the service would never see
        print(
            f"sfqb: no queue at {database}: the service has not run with this configuration "
            "(sfqb_qbwc_queue, SFQB_QBWC_DIR or AIRFLOW_HOME as the service has them)",
            file=sys.stderr,
        )
        return 2
    queue = JobQueue.from_url(url)
    try:
        status = queue_status(queue, sessions=args.sessions)
    finally:
        queue.close()
    if args.json:
        print(json.dumps(status, indent=2))
    else:
        print("\n".join(status_lines(status, dt.datetime.now(dt.UTC))))
    return 0


def _qbwc_migrate() -> int:
    """``qbwc migrate``: the queue's database (``sfqb_qbwc_queue``) created and migrated, once
    per deployment (docker-compose.yaml's airflow-init runs it)."""
    import sqlalchemy as sa

    from sfqb.qbwc import JobQueue
    from sfqb.qbwc.queue import create_database
    from sfqb.qbwc.settings import SettingsError, queue_url

    try:
        url = queue_url()
        created = create_database(url)
        queue = JobQueue.from_url(url)
    except (SettingsError, sa.exc.SQLAlchemyError) as exc:
        print(f"sfqb: the QBWC queue's database cannot be prepared: {exc}", file=sys.stderr)
        return 2
    where = sa.engine.make_url(url).render_as_string(hide_password=True)
    print(
        f"sfqb: QBWC queue {where}: "
        + ("database created, " if created else "")
        + f"schema version {queue.version()}"
    )
    queue.close()
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


def _salesforce_layouts(args) -> int:
    """``salesforce layouts`` (sfqb.checks.layouts): nothing is written unless every retrieved
    layout could be read; exit 1 then, 2 for a wrong folder, 0 once the layouts are written."""
    from pathlib import Path

    from sfqb.checks import layouts

    retrieved, output = Path(args.retrieved), Path(args.output)
    additions_dir = Path(args.additions) if args.additions else layouts.DEFAULT_ADDITIONS
    if not retrieved.is_dir():
        print(f"sfqb: {retrieved}: no such folder (--retrieved)", file=sys.stderr)
        return 2
    inside = retrieved.resolve(), output.resolve()
    if inside[0] == inside[1] or inside[0] in inside[1].parents or inside[1] in inside[0].parents:
        print(
            f"sfqb: --output {output} and --retrieved {retrieved} overlap: write the layouts to a "
            "folder of their own, so the retrieved originals stay as they were",
            file=sys.stderr,
        )
        return 2
    package_dir = additions_dir.resolve().parent / "force-app"
    if inside[1] == package_dir or package_dir in inside[1].parents:
        print(
            f"sfqb: --output {output} is inside the package's {package_dir}: the package never "
            "holds a standard object's layout (a deploy of it would replace the org's own)",
            file=sys.stderr,
        )
        return 2
    try:
        additions = layouts.read_additions(additions_dir)
    except layouts.LayoutError as exc:
        print(f"sfqb: {exc}", file=sys.stderr)
        return 2
    result = layouts.merge_folder(retrieved, additions)
    for line in result.left_out:
        print(line)
    if result.errors:
        for line in result.errors:
            print(f"sfqb: {line}", file=sys.stderr)
        print("sfqb: nothing written", file=sys.stderr)
        return 1
    if not result.merged:
        print(
            f"sfqb: {retrieved} holds no layout of {', '.join(sorted(additions))}: nothing written",
            file=sys.stderr,
        )
        return 1
    target = output / "main" / "default" / "layouts"
    target.mkdir(parents=True, exist_ok=True)
    for merged in result.merged:
        (target / merged.name).write_text(merged.text, encoding="utf-8")
        print(layouts.summary(merged))
    written = {m.name for m in result.merged}
    others = sorted(p.name for p in layouts.find_layouts(output) if p.name not in written)
    if others:
        print(
            f"sfqb: {output} also holds layouts this run did not write (delete them before you "
            f"deploy, or they are deployed too): {', '.join(others)}",
            file=sys.stderr,
        )
    print(
        f"wrote {len(written)} layout(s) to {target}; review them, then deploy: "
        f"sf project deploy start --source-dir {output} --target-org <your org>"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
