"""Random faults for one run, injected through the sandboxes' ``/_sandbox/faults``.

Each rule fires once or twice on the API (never on the admin surface or the token endpoints,
except the expired-token kinds that need them), after a random number of matching requests
(``skip``), so it lands somewhere inside the run: in an extract, a batch, a load. The choice
comes from the simulation's seeded ``random.Random``; the rules themselves are deterministic
(probability 1), so a seed replays the same faults at the same requests.
"""

from __future__ import annotations

import random

QB_API = r"/v3/company/"
SF_API = r"/services/data/"
# (service, kind, path, extra rule fields): the fault matrix of
# tests/integration/test_fault_matrix.py, minus the kill.
CATALOGUE = [
    ("quickbooks", "http_429", QB_API, {}),
    ("quickbooks", "throttle", QB_API, {"retry_after": 1}),
    ("quickbooks", "http_500", QB_API, {}),
    ("quickbooks", "http_503", QB_API, {}),
    ("quickbooks", "server_error", QB_API, {}),
    ("quickbooks", "drop", QB_API, {}),
    ("quickbooks", "drop", r"/batch", {"method": "POST"}),
    ("quickbooks", "expired_token", QB_API, {}),
    ("quickbooks", "stale_object", r"/batch", {"method": "POST"}),
    ("salesforce", "http_500", SF_API, {}),
    ("salesforce", "http_503", SF_API, {}),
    ("salesforce", "server_error", SF_API, {}),
    ("salesforce", "drop", SF_API, {}),
    ("salesforce", "drop", r"/composite/sobjects", {}),
    ("salesforce", "expired_session", SF_API, {}),
    ("salesforce", "unable_to_lock_row", r"/composite/sobjects", {}),
    ("salesforce", "request_limit", SF_API, {}),
]
QBD, WEB_CONNECTOR = "quickbooks_desktop", "web_connector"
# QuickBooks Desktop's faults: the company's own (``/_sandbox/company/faults``, matched by a
# regex over a message set's request types, ``path`` here) and the Web Connector's (played by
# ``sfqb_sim.desktop.DesktopSite``): an answer lost after the write was applied, QuickBooks
# restarting mid-read (the session and its iterators gone), a QuickBooks user's edit just
# before sfqb's CustomerMod (a stale EditSequence, 3200), the Web Connector stopped for the run.
# Their ``max_skip``: a run sends one or two message sets of writes of a kind (a group of up to
# 30 requests each) and a few dozen reads.
DESKTOP_CATALOGUE = [
    (
        QBD,
        "lose_response",
        r"CustomerAddRq|InvoiceAddRq|SalesOrderAddRq|SalesReceiptAddRq",
        {"max_skip": 2},
    ),
    (QBD, "lose_response", r"CustomerModRq|SalesOrderModRq", {"max_skip": 2}),
    (QBD, "restart", r"(Customer|Item|Invoice|SalesOrder|SalesReceipt)QueryRq", {}),
    (WEB_CONNECTOR, "stale_edit_sequence", r"CustomerModRq", {"max_skip": 2}),
    (WEB_CONNECTOR, "stopped", "", {"times": 1, "max_skip": 1}),
    *[entry for entry in CATALOGUE if entry[0] == "salesforce"],
]
MAX_PER_RUN = 3
MAX_SKIP = 40
DESKTOP_MAX_SKIP = 6


def plan(rng: random.Random, rate: float, catalogue: list | None = None) -> list[dict]:
    """The faults of one run: each of ``MAX_PER_RUN`` slots is filled with probability
    ``rate`` by a random kind from ``catalogue`` (default: Online's). Returns the rules
    (``service`` included)."""
    rules = []
    for _ in range(MAX_PER_RUN):
        if rng.random() >= rate:
            continue
        service, kind, path, extra = rng.choice(catalogue or CATALOGUE)
        extra = dict(extra)
        max_skip = extra.pop("max_skip", MAX_SKIP if service != QBD else DESKTOP_MAX_SKIP)
        rules.append(
            {
                "service": service,
                "kind": kind,
                "path": path,
                "times": rng.choice((1, 1, 2)),
                "skip": rng.randrange(max_skip),
                **extra,
            }
        )
    return rules


def inject(admin, rules: list[dict]) -> None:
    """The HTTP rules and the Desktop company's rules; the Web Connector's are the site's."""
    for rule in rules:
        body = {k: v for k, v in rule.items() if k != "service"}
        if rule["service"] == QBD:
            body["request"] = body.pop("path")
            admin.call(QBD, "POST", "company/faults", body)
        elif rule["service"] != WEB_CONNECTOR:
            admin.add_fault(rule["service"], **body)


def collect(admin) -> list[dict]:
    """The rules of this run with how often each fired; then clears them."""
    fired = []
    for service in admin.services():
        for rule in admin.call(service, "GET", "faults"):
            fired.append(
                {
                    "service": service,
                    "kind": rule["kind"],
                    "path": rule["path"],
                    "fired": rule["fired"],
                    "skip": rule["skip"],
                }
            )
        admin.clear_faults(service)
        if service == QBD:
            for rule in admin.call(QBD, "GET", "company/faults"):
                fired.append(
                    {
                        "service": QBD,
                        "kind": rule["kind"],
                        "path": rule["request"],
                        "fired": rule["fired"],
                        "skip": rule["skip"],
                    }
                )
            admin.call(QBD, "DELETE", "company/faults")
    return fired
