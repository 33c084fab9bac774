"""``python -m sfqb_sandbox``: run the sandbox servers, or print their Airflow connections.

python -m sfqb_sandbox serve --data-dir DIR [--seed SIZE] [--quickbooks-port P]
                             [--salesforce-port P] [--only quickbooks|salesforce]
                             [--host ADDR] [--advertise-host NAME]
                             [--quickbooks online|desktop|both]
python -m sfqb_sandbox airflow-connections --data-dir DIR   # Airflow connections JSON
                                                          # (with a freshly minted QBO
                                                          # refresh token)
    [--desktop-password-file F]   # and quickbooks_desktop_default, password kept in F
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
from pathlib import Path

from .connections import airflow_connections
from .server import CONNECTIONS_FILE, QUICKBOOKS_EDITIONS, SERVICES, serve


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m sfqb_sandbox",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", required=True)
    p_serve = sub.add_parser("serve", help="start the servers and run until stopped")
    p_serve.add_argument("--data-dir", type=Path, required=True)
    p_serve.add_argument("--host", default="127.0.0.1", help="address to listen on")
    p_serve.add_argument(
        "--advertise-host",
        metavar="NAME",
        help="host name clients use (URLs in connections.json, TLS certificate); "
        "default: --host (127.0.0.1 when --host is 0.0.0.0)",
    )
    p_serve.add_argument(
        "--seed",
        help="seed an empty company/org: empty, tiny, small, medium, large, or a customer count",
    )
    p_serve.add_argument("--only", choices=sorted(SERVICES), action="append")
    p_serve.add_argument(
        "--quickbooks",
        choices=sorted(QUICKBOOKS_EDITIONS),
        default="online",
        help="which QuickBooks to serve beside Salesforce: online (default), desktop (a company "
        "file answering qbXML, docs/sandbox-quickbooks-desktop.md) or both",
    )
    for name in SERVICES:
        p_serve.add_argument(
            f"--{name.replace('_', '-')}-port", type=int, default=0, help="0 picks a free port"
        )
    p_conn = sub.add_parser(
        "airflow-connections",
        help="print the sandbox's Airflow connections (JSON, `airflow connections import` format)",
    )
    p_conn.add_argument("--data-dir", type=Path, required=True)
    p_conn.add_argument(
        "--desktop-password-file",
        type=Path,
        help="with a Desktop company served, add quickbooks_desktop_default (Web Connector user "
        "sfqb) with the password in this file, written with a random one when missing",
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)

    if args.command == "serve":
        logging.basicConfig(
            level=logging.WARNING, format="%(asctime)s %(name)s %(levelname)s %(message)s"
        )
        ports = {name: getattr(args, f"{name}_port") for name in SERVICES}
        services = tuple(args.only) if args.only else QUICKBOOKS_EDITIONS[args.quickbooks]
        asyncio.run(
            serve(
                args.data_dir,
                host=args.host,
                ports=ports,
                seed=args.seed,
                services=services,
                advertise_host=args.advertise_host,
            )
        )
        return 0
    path = args.data_dir / CONNECTIONS_FILE
    if not path.exists():
        print(f"{path} does not exist: is the sandbox running? (make sandbox)", file=sys.stderr)
        return 1
    connections = json.loads(path.read_text())
    if "quickbooks" in connections:
        # connections.json holds the token minted at start-up; once a client has used it, it
        # is spent (rotation). Mint a fresh one, as re-authorising the app would.
        from .admin_client import SandboxAdmin

        minted = SandboxAdmin(args.data_dir).call("quickbooks", "POST", "oauth/refresh-token")
        connections["quickbooks"]["refresh_token"] = minted["refresh_token"]
    desktop = None
    if args.desktop_password_file and "quickbooks_desktop" in connections:
        desktop = ("sfqb", _desktop_password(args.desktop_password_file))
    json.dump(airflow_connections(connections, desktop), sys.stdout, indent=2)
    print()
    return 0


def _desktop_password(path: Path) -> str:
    """The Web Connector password kept in ``path`` (owner-only), made the first time."""
    import os
    import secrets

    if not path.exists() or not path.read_text().strip():
        with open(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w") as f:
            f.write(secrets.token_urlsafe(18))
    return path.read_text().strip()


if __name__ == "__main__":
    sys.exit(main())
