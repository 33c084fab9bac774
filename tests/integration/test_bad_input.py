"""The bad-input corpus: awkward names, quantities, prices, references and deleted or
inactive records, seeded once into both sandbox servers, then two dag.test() runs of
``sfqb_sync``; one assertion per case (R-GEN-5: a clear per-record WARNING, or the right result;
nothing crashes a run).

``CORPUS`` is the one table: case -> input -> expected outcome after run 1 or 2:
- ``SYNCED``: the record reached the other system; ``value`` is what is read back there;
- ``WARNING``: not written; the run's summary has a warning naming the record that contains
  ``value``;
- ``SKIPPED``: not written and no warning (an INFO reason: ineligible until it changes).

Between the two runs a few records are changed as a user would (a QuickBooks rename, a deleted
invoice, a fixed term); run 2 also shows that nothing is created twice.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

import pytest

from sfqb import soql
from sfqb.areas.opportunities import marker
from tests.integration.conftest import SyncEnv, prepare_sync_env, report_of
from tests.integration.test_opportunities_sync import lines_of, opportunities

pytestmark = [pytest.mark.integration, pytest.mark.sandbox]

SYNCED, WARNING, SKIPPED = "synced", "warning", "skipped"
LONG_SF = (
    "Longname Holdings " + "x" * 132
)  # 150 characters: fits DisplayName (500), not CompanyName (100)
LONG_QB = (
    "Verylong Customer " + "y" * 282
)  # 300 characters: fits DisplayName (500), not Account Name (255)


@dataclass(frozen=True)
class Case:
    """One awkward input: ``kind`` says where it is made (``account``: a new Salesforce Account,
    ``customer``: a new QuickBooks customer, ``item``: a new QuickBooks item, ``opportunity``: a
    won Invoice opportunity of a synced Account, ``special``: made by its own step below)."""

    id: str
    kind: str
    input: object
    expect: str
    value: object = None
    after: int = 1
    rules: str = "R-GEN-5"
    extra: dict = field(default_factory=dict)
    warns: str | None = None  # SYNCED with a WARNING note containing this


# Opportunity lines: (product, quantity, unit price); products "plain" (item price 100) and
# "odd" (the item with the awkward name) are linked to QuickBooks items, "orphan" has no item,
# "retired" is linked to an item made inactive.
CORPUS = [
    # -- Salesforce Account -> QuickBooks customer (R-ACC-1/4): names reach QuickBooks as written.
    Case("account quotes", "account", 'O\'Brien & "Sons" Ltd', SYNCED, 'O\'Brien & "Sons" Ltd'),
    Case(
        "account backslash", "account", "Back\\slash \\' Trading", SYNCED, "Back\\slash \\' Trading"
    ),
    Case("account wildcards", "account", "100% Pure_Juice Co", SYNCED, "100% Pure_Juice Co"),
    Case(
        "account emoji and accents",
        "account",
        "Café Ünïcode 😀 GmbH",
        SYNCED,
        "Café Ünïcode 😀 GmbH",
    ),
    Case("account CJK", "account", "東京商事株式会社", SYNCED, "東京商事株式会社"),
    Case("account RTL", "account", "شركة الأمل للتجارة", SYNCED, "شركة الأمل للتجارة"),
    Case(
        "account colon",
        "account",
        "Colon: The Company",
        WARNING,
        "contains ':'",
        rules="R-GEN-5, R-ACC-4",
    ),
    Case(
        "account over 100 characters",
        "account",
        LONG_SF,
        SYNCED,
        LONG_SF,
        warns="Company name is left empty",
        rules="R-GEN-5, R-ACC-4",
    ),
    Case(
        "account unknown term",
        "account",
        "Terms Unknown Co",
        SYNCED,
        "Terms Unknown Co",
        extra={"Terms__c": "Net 99"},
        warns="'Net 99' do not exist in QuickBooks: left out",
        rules="R-GEN-5, R-ACC-9",
    ),
    Case("account spaces around", "account", "  Padded Name Inc  ", SYNCED, "Padded Name Inc"),
    Case(
        "account case twin lower",
        "account",
        "Case Twins Inc",
        WARNING,
        "share the name 'Case Twins Inc'",
        rules="R-GEN-5, R-ACC-4",
    ),
    Case(
        "account case twin upper",
        "account",
        "CASE TWINS INC",
        WARNING,
        "share the name 'CASE TWINS INC'",
        rules="R-GEN-5, R-ACC-4",
    ),
    # An unlinked customer whose name differs only in case is the same company: linked, not duplicated.
    Case(
        "account case of a QuickBooks name",
        "account",
        "ZETA EXISTING LLC",
        SYNCED,
        "Zeta Existing LLC",
        rules="R-GEN-3, R-ACC-4",
    ),
    # -- QuickBooks customer -> Salesforce Account (R-ACC-2): names reach Salesforce as written.
    Case(
        "customer quotes and backslash",
        "customer",
        'D\'Angelo \\ "Sons" 50%_off',
        SYNCED,
        'D\'Angelo \\ "Sons" 50%_off',
        rules="R-GEN-5, R-ACC-2",
    ),
    Case("customer unicode", "customer", "Ñandú 🦤 Ltda — 北京", SYNCED, "Ñandú 🦤 Ltda — 北京"),
    Case(
        "customer over 255 characters",
        "customer",
        LONG_QB,
        WARNING,
        "300 characters and a Salesforce Account Name keeps at most 255",
        rules="R-GEN-5, R-ACC-2",
    ),
    Case(
        "customer inactive",
        "customer",
        "Sleeping Customer Co",
        SKIPPED,
        extra={"Active": False},
        rules="R-ACC-2",
    ),
    Case(
        "customer case of an unlinked Account",
        "special",
        "Zeta Existing LLC",
        SYNCED,
        "ZETA EXISTING LLC",
        rules="R-GEN-3, R-PRE-1",
    ),
    Case(
        "customer renamed in QuickBooks",
        "special",
        "Rename Me Corp",
        SYNCED,
        "Renamed Corp (new)",
        after=2,
        rules="R-ACC-2, R-ACC-5, R-GEN-3",
    ),
    Case(
        "account deleted in Salesforce",
        "special",
        "Deleted Account Co",
        SYNCED,
        1,
        after=2,
        rules="R-ACC-2, R-GEN-3",
    ),
    # -- QuickBooks Item -> Salesforce Product (R-ITM-1/2).
    Case(
        "item awkward name",
        "item",
        "Gadget 'Pro' \\ 50%_x",
        SYNCED,
        ("Gadget 'Pro' \\ 50%_x", "19.99"),
        rules="R-ITM-2",
    ),
    Case(
        "item unicode name",
        "item",
        "Café ☕ 咖啡 Kit",
        SYNCED,
        ("Café ☕ 咖啡 Kit", "5.00"),
        rules="R-ITM-2",
    ),
    Case(
        "item price with 5 decimals",
        "item",
        "Precise Widget",
        SYNCED,
        ("Precise Widget", "12.35"),
        extra={"UnitPrice": "12.34567"},
        rules="R-ITM-2, R-GEN-4",
    ),
    Case(
        "item inactive",
        "item",
        "Retired Gizmo Never Sold",
        SKIPPED,
        extra={"Active": False},
        rules="R-ITM-1",
    ),
    # -- Won opportunities -> QuickBooks invoices (R-OPP-1/3/4): (qty, unit price, amount) per line.
    Case(
        "opportunity fractional quantity",
        "opportunity",
        [("plain", 1.5, 99.99)],
        SYNCED,
        [("1.5", "99.99", "149.99")],
        rules="R-OPP-3",
    ),
    Case(
        "opportunity quantity with 3 decimals",
        "opportunity",
        [("plain", 0.333, 3)],
        SYNCED,
        [("0.33", "3", "0.99")],
        rules="R-OPP-3",
    ),
    Case(
        "opportunity price with 3 decimals",
        "opportunity",
        [("plain", 2, 10.125)],
        SYNCED,
        [("2", "10.13", "20.26")],
        rules="R-OPP-3",
    ),
    Case(
        "opportunity negative line",
        "opportunity",
        [("plain", 2, 100), ("odd", -1, 50)],
        SYNCED,
        [("2", "100", "200.00"), ("-1", "50", "-50.00")],
        rules="R-OPP-3",
    ),
    Case(
        "opportunity negative total",
        "opportunity",
        [("plain", -2, 50)],
        WARNING,
        "its products total -100.00: a QuickBooks Invoice cannot be negative",
        rules="R-GEN-5, R-OPP-3",
    ),
    Case("opportunity zero lines", "opportunity", [], SKIPPED, rules="R-OPP-1"),
    Case(
        "opportunity missing product",
        "opportunity",
        [("orphan", 1, 5)],
        WARNING,
        "no QuickBooks item",
        rules="R-GEN-5, R-OPP-3",
    ),
    Case(
        "opportunity inactive item",
        "opportunity",
        [("retired", 1, 5)],
        WARNING,
        "made inactive in QuickBooks",
        rules="R-GEN-5, R-OPP-3",
    ),
    Case(
        "opportunity unknown term",
        "opportunity",
        [("plain", 1, 10)],
        WARNING,
        "'Net 99' is not a QuickBooks term",
        extra={"Terms__c": "Net 99"},
        rules="R-GEN-5, R-OPP-4",
    ),
    Case(
        "opportunity term in other case",
        "opportunity",
        [("plain", 1, 10)],
        SYNCED,
        [("1", "10", "10.00")],
        extra={"Terms__c": "net 30"},
        rules="R-OPP-4",
    ),
    Case(
        "opportunity unknown class",
        "opportunity",
        [("plain", 1, 10)],
        WARNING,
        "'No Such Class' is not a QuickBooks class",
        extra={"Class__c": "No Such Class"},
        rules="R-GEN-5, R-OPP-4",
    ),
    Case(
        "opportunity awkward name and description",
        "opportunity",
        [("odd", 1, 19.99)],
        SYNCED,
        [("1", "19.99", "19.99")],
        extra={"Name": "Deal 'Ω' \\ 100%_off 🎉", "Description": "Ünïcode — “quotes”"},
        rules="R-OPP-3, R-OPP-4",
    ),
    Case(
        "opportunity of an inactive customer",
        "special",
        [("plain", 1, 10)],
        WARNING,
        "is inactive, and QuickBooks makes no transaction for an inactive customer",
        rules="R-GEN-5, R-OPP-1",
    ),
    Case(
        "opportunity fixed after a warning",
        "special",
        [("plain", 1, 10)],
        SYNCED,
        [("1", "10", "10.00")],
        after=2,
        rules="R-GEN-5, R-OPP-4",
    ),
    # -- QuickBooks invoice -> Invoice__c (R-INV-1, R-INV-4): deleted in QuickBooks after it synced.
    Case(
        "opportunity description over 1000 characters",
        "opportunity",
        [("plain", 1, 10)],
        WARNING,
        "a QuickBooks customer memo takes at most 1000",
        extra={"Description": "d" * 1001},
        rules="R-GEN-5, R-OPP-4",
    ),
    # -- QuickBooks invoices -> Invoice__c (R-INV-1, R-INV-4): (quantity, rate, amount, description) per line.
    Case(
        "invoice fine-grained line",
        "special",
        [("1.333", "3.33333", "Ünïcode — 😀 'x' \\ 100%_")],
        SYNCED,
        [("1.33", "3.3333", "4.44", "Ünïcode — 😀 'x' \\ 100%_")],
        rules="R-INV-1, R-GEN-4",
    ),
    Case(
        "invoice deleted in QuickBooks",
        "special",
        [("1.5", "5", "line")],
        SYNCED,
        "Deleted",
        after=2,
        rules="R-INV-1, R-INV-4",
    ),
]


# --- making the corpus --------------------------------------------------------------------------


class Corpus:
    """Makes every case's input through the real APIs (simple-salesforce and python-quickbooks
    via the hooks), remembers each case's record key (as warnings name it) and how to read its
    result back."""

    def __init__(self, env: SyncEnv) -> None:
        self.env, self.sf, self.qb = env, env.sf(), env.qb()
        self.keys: dict[str, str] = {}
        self.ids: dict[str, str] = {}
        self.book = self.sf.standard_pricebook()["Id"]

    def qb_customer(self, name: str, active: bool = True) -> dict:
        made = self.qb.create("Customer", {"DisplayName": name}, None)
        if not active:
            made = self.qb.deactivate("Customer", made["Id"], made["SyncToken"])
        return made

    def qb_item(self, name: str, price: str, active: bool = True) -> dict:
        made = self.qb.create(
            "Item",
            {
                "Name": name,
                "Type": "Service",
                "UnitPrice": Decimal(price),
                "IncomeAccountRef": {"value": "1"},
            },
            None,
        )
        if not active:
            made = self.qb.deactivate("Item", made["Id"], made["SyncToken"])
        return made

    def sf_create(self, sobject: str, **fields) -> str:
        (result,) = self.sf.create(sobject, [fields])
        assert result.ok, (sobject, fields, result.errors)
        return result.id

    def product(self, item: dict | None, name: str, code: str) -> str:
        """A Product (linked to ``item`` when given) with its standard price book entry."""
        product = self.sf_create(
            "Product2",
            Name=name,
            ProductCode=code,
            IsActive=True,
            External_Item_ID__c=item and item["Id"],
        )
        return self.sf_create(
            "PricebookEntry", Pricebook2Id=self.book, Product2Id=product, UnitPrice=1, IsActive=True
        )

    def opportunity(self, account: str, lines, entries: dict, **fields) -> str:
        opp = self.sf_create(
            "Opportunity",
            **{
                "Name": "Corpus deal",
                "AccountId": account,
                "StageName": "Closed Won",
                "CloseDate": "2026-11-20",
                "Transaction_Type__c": "Invoice",
                "Pricebook2Id": self.book,
                **fields,
            },
        )
        if lines:
            made = self.sf.create(
                "OpportunityLineItem",
                [
                    {
                        "OpportunityId": opp,
                        "PricebookEntryId": entries[product],
                        "Quantity": qty,
                        "UnitPrice": price,
                        "SortOrder": n,
                    }
                    for n, (product, qty, price) in enumerate(lines, start=1)
                ],
            )
            assert all(r.ok for r in made), [r.errors for r in made]
        return opp

    def make(self) -> None:
        """Everything run 1 reads."""
        buyer = self.qb_customer("Corpus Buyer Ltd")
        self.buyer = self.sf_create(
            "Account", Name="Corpus Buyer Ltd", External_Account_ID__c=buyer["Id"]
        )
        plain = self.plain = self.qb_item("Corpus Plain Service", "100")
        odd = None
        retired = self.qb_item("Corpus Retired Service", "5")
        for case in CORPUS:
            extra = case.extra
            if case.kind == "account":
                self.keys[case.id] = self.sf_create("Account", Name=case.input, **extra)
            elif case.kind == "customer":
                made = self.qb_customer(case.input, extra.get("Active", True))
                self.ids[case.id], self.keys[case.id] = made["Id"], f"QB:{made['Id']}"
            elif case.kind == "item":
                made = self.qb_item(
                    case.input,
                    extra.get("UnitPrice", "19.99" if "Gadget" in case.input else "5"),
                    extra.get("Active", True),
                )
                self.ids[case.id], self.keys[case.id] = made["Id"], f"QB:{made['Id']}"
                if case.id == "item awkward name":
                    odd = made
        self.entries = {
            "plain": self.product(plain, "Corpus Plain Service", plain["FullyQualifiedName"]),
            "odd": self.product(odd, odd["Name"], odd["FullyQualifiedName"]),
            "orphan": self.product(None, "Corpus Orphan Gadget", "NOT-IN-QB"),
            "retired": self.product(
                retired, "Corpus Retired Service", retired["FullyQualifiedName"]
            ),
        }
        self.qb.deactivate("Item", retired["Id"], retired["SyncToken"])
        for case in CORPUS:
            if case.kind == "opportunity":
                self.keys[case.id] = self.opportunity(
                    self.buyer, case.input, self.entries, **case.extra
                )
        self.special()

    def special(self) -> None:
        by_id = {case.id: case for case in CORPUS}
        # A QuickBooks customer whose name an unlinked Account carries in other case.
        zeta = self.qb_customer(by_id["customer case of an unlinked Account"].input)
        self.keys["customer case of an unlinked Account"] = f"QB:{zeta['Id']}"
        # A customer to rename after run 1.
        rename = self.qb_customer(by_id["customer renamed in QuickBooks"].input)
        self.ids["customer renamed in QuickBooks"] = rename["Id"]
        self.keys["customer renamed in QuickBooks"] = f"QB:{rename['Id']}"
        # An Account linked to its customer, deleted in Salesforce; the customer changes in QuickBooks.
        gone = self.qb_customer(by_id["account deleted in Salesforce"].input)
        account = self.sf_create(
            "Account", Name=gone["DisplayName"], External_Account_ID__c=gone["Id"]
        )
        assert all(r.ok for r in self.sf.delete([account]))
        self.ids["account deleted in Salesforce"] = gone["Id"]
        self.keys["account deleted in Salesforce"] = f"QB:{gone['Id']}"
        # A synced Account whose customer is inactive in QuickBooks, with a won opportunity.
        sleeping = self.qb_customer("Corpus Inactive Buyer", active=False)
        account = self.sf_create(
            "Account", Name="Corpus Inactive Buyer", External_Account_ID__c=sleeping["Id"]
        )
        case = by_id["opportunity of an inactive customer"]
        self.keys[case.id] = self.opportunity(account, case.input, self.entries)
        # Held back by an unknown term in run 1; the user fixes the term before run 2.
        case = by_id["opportunity fixed after a warning"]
        self.keys[case.id] = self.opportunity(
            self.buyer, case.input, self.entries, Terms__c="Net 999"
        )
        # QuickBooks invoices for the buyer (the second is deleted before run 2).
        customer = self.sf_links()[self.buyer]
        for case_id in ("invoice fine-grained line", "invoice deleted in QuickBooks"):
            lines = [
                {
                    "DetailType": "SalesItemLineDetail",
                    "Amount": (Decimal(q) * Decimal(p)).quantize(Decimal("0.01"), ROUND_HALF_UP),
                    "Description": text,
                    "SalesItemLineDetail": {
                        "ItemRef": {"value": self.plain["Id"]},
                        "Qty": Decimal(q),
                        "UnitPrice": Decimal(p),
                    },
                }
                for q, p, text in by_id[case_id].input
            ]
            invoice = self.qb.create(
                "Invoice", {"CustomerRef": {"value": customer}, "Line": lines}, None
            )
            self.ids[case_id], self.keys[case_id] = invoice["Id"], f"QB:{invoice['Id']}"

    def sf_links(self) -> dict[str, str]:
        rows = self.sf.query(
            soql.select(
                "Account",
                ["Id", "External_Account_ID__c"],
                where=soql.compare("External_Account_ID__c", "!=", None),
            )
        )
        return {r["Id"]: r["External_Account_ID__c"] for r in rows}

    def between_runs(self) -> None:
        """What users do after run 1."""
        rename_id = self.ids["customer renamed in QuickBooks"]
        current = self.qb.read("Customer", rename_id)
        self.qb.update(
            "Customer",
            {
                "Id": rename_id,
                "SyncToken": current["SyncToken"],
                "DisplayName": "Renamed Corp (new)",
            },
        )
        self.sf.update(
            "Opportunity",
            [{"Id": self.keys["opportunity fixed after a warning"], "Terms__c": "Net 30"}],
        )
        invoice_id = self.ids["invoice deleted in QuickBooks"]
        self.qb.delete("Invoice", invoice_id, self.qb.read("Invoice", invoice_id)["SyncToken"])

    # --- reading results back ----------------------------------------------------------------
    def stamps(self) -> dict[str, str]:
        """When the items' standard prices and the fine-grained invoice line were last written."""
        cases = {self.ids[c.id]: c.id for c in CORPUS if c.kind == "item"}
        rows = self.sf.query(
            soql.select(
                "PricebookEntry",
                ["SystemModstamp", "Product2.External_Item_ID__c"],
                where=soql.in_list("Product2.External_Item_ID__c", cases),
            )
        )
        out = {cases[r["Product2"]["External_Item_ID__c"]]: r["SystemModstamp"] for r in rows}
        for row in self.invoice_items("invoice fine-grained line", ["Id", "SystemModstamp"]):
            out[row["Id"]] = row["SystemModstamp"]
        return out

    def invoice_items(self, case_id: str, fields: list[str]) -> list[dict]:
        return sorted(
            self.sf.query(
                soql.select(
                    "Invoice_Item__c",
                    fields,
                    where=soql.eq("Invoice__r.External_Invoice_ID__c", self.ids[case_id]),
                )
            ),
            key=lambda r: str(r.get("Id")),
        )

    def accounts_of(self, qb_id: str) -> list[dict]:
        return list(
            self.sf.query(
                soql.select(
                    "Account", ["Id", "Name"], where=soql.eq("External_Account_ID__c", qb_id)
                )
            )
        )

    def synced_value(self, case: Case):
        """What the other system holds for the case's record (None: nothing)."""
        key = self.keys[case.id]
        if case.kind == "account":
            qb_id = self.sf_links().get(key)
            return qb_id and self.qb.read("Customer", qb_id)["DisplayName"]
        if case.id == "account deleted in Salesforce":
            return len(self.accounts_of(self.ids[case.id]))
        if (
            case.kind in ("customer", "special")
            and key.startswith("QB:")
            and "invoice" not in case.id
        ):
            names = [a["Name"] for a in self.accounts_of(self.ids.get(case.id, key[3:]))]
            assert len(names) <= 1, names  # never two Accounts for one customer
            return names[0] if names else None
        if case.kind == "item":
            rows = list(
                self.sf.query(
                    soql.select(
                        "PricebookEntry",
                        ["Product2.ProductCode", "UnitPrice"],
                        where=[
                            soql.eq("Product2.External_Item_ID__c", self.ids[case.id]),
                            soql.eq("Pricebook2Id", self.book),
                        ],
                    )
                )
            )
            return rows and (
                rows[0]["Product2"]["ProductCode"],
                f"{Decimal(str(rows[0]['UnitPrice'])):.2f}",
            )
        if case.id == "invoice fine-grained line":
            return [
                (
                    _num(r["Quantity__c"]),
                    _num(r["Rate__c"]),
                    f"{Decimal(str(r['Amount__c'])):.2f}",
                    r["Description__c"],
                )
                for r in self.invoice_items(
                    case.id, ["Id", "Quantity__c", "Rate__c", "Amount__c", "Description__c"]
                )
            ]
        if case.id == "invoice deleted in QuickBooks":
            rows = list(
                self.sf.query(
                    soql.select(
                        "Invoice__c",
                        ["Status__c"],
                        where=soql.eq("External_Invoice_ID__c", self.ids[case.id]),
                    )
                )
            )
            return rows and rows[0]["Status__c"]
        opp = opportunities(self.env, where=soql.eq("Id", key))[key]
        txn_id = opp["External_Transaction_ID__c"]
        if not txn_id:
            return None
        txn = self.qb.read("Invoice", txn_id)
        assert len(lines_of(self.env, key)) == len(
            [ln for ln in txn["Line"] if ln["DetailType"] == "SalesItemLineDetail"]
        )
        return [
            (
                _num(ln["SalesItemLineDetail"]["Qty"]),
                _num(ln["SalesItemLineDetail"]["UnitPrice"]),
                f"{Decimal(str(ln['Amount'])):.2f}",
            )
            for ln in txn["Line"]
            if ln["DetailType"] == "SalesItemLineDetail"
        ]


def _num(value) -> str:
    """A number as its shortest exact text: 1.50 -> "1.5", 2.0 -> "2"."""
    text = format(Decimal(str(value)).normalize(), "f")
    return text


@dataclass
class Outcome:
    corpus: Corpus
    warnings: dict[int, list[str]]
    values: dict[int, dict[str, object]]
    invoices_of: dict[int, dict[str, int]]
    stamps: dict[int, dict[str, str]]


def _run(env: SyncEnv, install: str) -> list[str]:
    env.set_preferences(sync_start=install, sync_accounts_without_won_opportunities=True)
    _, states, summary = env.run(task_retries=0)
    assert set(states.values()) == {"success"}, states  # nothing crashes a run
    return [
        w for report in summary["areas"] for w in report_of(summary, report["area"])["warnings"]
    ]


def _our_invoices(corpus: Corpus) -> dict[str, int]:
    """Opportunity Id -> how many QuickBooks invoices carry its marker."""
    notes = {
        marker(corpus.keys[c.id]): c.id
        for c in CORPUS
        if c.kind == "opportunity" or c.id.startswith("opportunity")
    }
    counts = dict.fromkeys(notes.values(), 0)
    for invoice in corpus.qb.query_all("Invoice"):
        if invoice.get("PrivateNote") in notes:
            counts[notes[invoice["PrivateNote"]]] += 1
    return counts


@pytest.fixture(scope="module")
def outcome(sandbox, airflow_db):
    """The corpus made once, run 1, the users' changes, run 2; every case's result after each."""
    with pytest.MonkeyPatch.context() as monkeypatch:
        env = prepare_sync_env(sandbox, monkeypatch)
        install = (dt.datetime.now(dt.UTC) - dt.timedelta(seconds=5)).isoformat()
        corpus = Corpus(env)
        corpus.make()
        outcome = Outcome(corpus, {}, {}, {}, {})
        for run in (1, 2):
            if run == 2:
                corpus.between_runs()
            outcome.warnings[run] = _run(env, install)
            outcome.values[run] = {case.id: corpus.synced_value(case) for case in CORPUS}
            outcome.invoices_of[run] = _our_invoices(corpus)
            outcome.stamps[run] = corpus.stamps()
        yield outcome


# Cases whose fix belongs to another layer (reported to its owners), kept failing until it lands.
NOT_YET: dict[
    str, str
] = {}  # case id -> why it cannot pass yet (xfail strict); empty: every case holds


@pytest.mark.parametrize(
    "case",
    [
        pytest.param(
            c,
            id=c.id,
            marks=[pytest.mark.xfail(strict=True, reason=NOT_YET[c.id])] if c.id in NOT_YET else [],
        )
        for c in CORPUS
    ],
)
def test_given_bad_input_when_synced_then_each_record_gets_its_right_result_or_a_clear_warning(
    outcome, case
):
    """R-GEN-5 (and each case's rules, ``Case.rules``): after run ``case.after`` the record is
    synced with the expected value, or not written with a warning naming it and its reason, or
    skipped without a warning; the run itself always succeeds."""
    key = outcome.corpus.keys[case.id]
    value = outcome.values[case.after][case.id]
    named = [w for w in outcome.warnings[case.after] if f": {key}: " in w]
    if case.expect == SYNCED:
        assert value == case.value, (case.id, value, named)
        assert not case.warns or any(case.warns in w for w in named), (case.id, named)
    elif case.expect == WARNING:
        assert value in (None, [], ()), (case.id, value)
        assert any(str(case.value) in w for w in named), (case.id, named)
    else:
        assert value in (None, [], ()), (case.id, value)
        assert not named, (case.id, named)


def test_given_the_corpus_synced_when_the_sync_runs_again_then_nothing_is_created_twice(outcome):
    """R-GEN-3, R-GEN-4, R-GEN-5: the second run creates no second invoice for any opportunity
    and no second customer for any name; it rewrites no price it wrote (rounded to cents);
    records held back by a warning are still held back (or synced once fixed), and warned again."""
    assert all(n <= 1 for n in outcome.invoices_of[2].values()), outcome.invoices_of[2]
    # R-GEN-4: run 2 reads the items and the invoice again (lookback); values Salesforce keeps rounded
    # (a price of 12.34567 as 12.35, a rate of 3.33333 as 3.3333) are not rewritten.
    assert outcome.stamps[2] == outcome.stamps[1] and len(outcome.stamps[1]) == 4
    assert outcome.invoices_of[2]["opportunity fixed after a warning"] == 1
    names = [
        c["DisplayName"] for c in outcome.corpus.qb.query_all("Customer", include_inactive=True)
    ]
    assert len(names) == len({n.casefold() for n in names})
    zeta = [
        a["Name"]
        for a in outcome.corpus.sf.query(
            soql.select("Account", ["Name"], where=soql.eq("Name", "zeta existing llc"))
        )
    ]  # SOQL compares names without case
    assert zeta == ["ZETA EXISTING LLC"], (
        zeta
    )  # no second Account for the customer named in other case
    for case in CORPUS:
        if case.expect == WARNING and case.after == 1:
            key = outcome.corpus.keys[case.id]
            assert any(f": {key}: " in w for w in outcome.warnings[2]), (case.id, "not retried")
