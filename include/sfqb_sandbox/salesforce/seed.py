"""A deterministic, realistic org: the base every org has, and the sized seed on top.

Base (always present, even for ``empty``): the integration user, the opportunity stages and an
active Standard Price Book. Seed with N customers (``names.seed_customer_count``): Accounts
``company_name(i)`` for i in N//2 .. N//2+N-1 (half match a QuickBooks customer by exact name),
one account named like QB customer 0 but in upper case with a trailing space, and a second
account named ``company_name(N-1)`` (an ambiguous match); 1-2 contacts per account (most
accounts have a billing contact with a mailing address); products whose ProductCode is the
QuickBooks item's FullyQualifiedName (``names.item_fqn``), a few SF-only products, standard
price book entries at ``names.item_price``; open, won and lost opportunities (some without
products, Transaction_Type__c Invoice / Sales Receipt / None / unset), line items and contact
roles. Records are built directly (no per-record validation) so 100k customers seed quickly.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from ..common import names
from .soql import format_datetime

STAGES = (
    # label, closed, won, probability, forecast category
    ("Prospecting", False, False, 10, "Pipeline"),
    ("Qualification", False, False, 10, "Pipeline"),
    ("Needs Analysis", False, False, 20, "Pipeline"),
    ("Value Proposition", False, False, 50, "Pipeline"),
    ("Id. Decision Makers", False, False, 60, "Pipeline"),
    ("Perception Analysis", False, False, 70, "Pipeline"),
    ("Proposal/Price Quote", False, False, 75, "Pipeline"),
    ("Negotiation/Review", False, False, 90, "Pipeline"),
    ("Closed Won", True, True, 100, "Closed"),
    ("Closed Lost", True, False, 0, "Omitted"),
    ("Migrated", True, True, 100, "Closed"),
)
_OPP_STAGES = (
    "Closed Won",
    "Prospecting",
    "Closed Won",
    "Negotiation/Review",
    "Closed Lost",
    "Closed Won",
    "Qualification",
)
_TX_TYPES = ("Invoice", "Sales Receipt", None, "None", "Invoice")
_TERMS = ("Net 30", "Net 15", "Due on receipt", None, "Net 60")
_ROLES = ("Decision Maker", "Economic Buyer", "Technical Buyer", "Influencer")
SF_ONLY_PRODUCTS = 3


class _Builder:
    """Creates records with system fields and per-object defaults, straight into the store."""

    def __init__(self, org) -> None:
        self.org = org
        self.store = org.store
        self.now = format_datetime(org.clock.now())
        self.user = org.user_id
        self.defaults: dict[str, dict] = {}
        self.batches: dict[str, list] = {}

    def new(self, sobject: str, **fields) -> dict:
        obj = self.org.schema.object(sobject)
        defaults = self.defaults.get(obj.name)
        if defaults is None:
            defaults = {
                f.name: (bool(f.default_value) if f.default_value is not None else False)
                for f in obj.fields.values()
                if f.type == "boolean"
            }
            if obj.field("OwnerId") is not None:
                defaults["OwnerId"] = self.user
            self.defaults[obj.name] = defaults
        rec = dict(defaults)
        rec.update(
            Id=self.store.new_id(obj.key_prefix),
            IsDeleted=False,
            CreatedDate=self.now,
            CreatedById=self.user,
            LastModifiedDate=self.now,
            LastModifiedById=self.user,
            SystemModstamp=self.now,
        )
        rec.update({k: v for k, v in fields.items() if v is not None})
        self.batches.setdefault(obj.name, []).append(rec)
        return rec

    def commit(self) -> None:
        for sobject, records in self.batches.items():
            self.store.bulk_load(sobject, records)
        self.batches.clear()


def base_org(org) -> None:
    """The integration user, the stages and the active Standard Price Book."""
    b = _Builder(org)
    user = b.new(
        "User",
        Username="integration@sfqb-sandbox.example.com",
        FirstName="Sfqb",
        LastName="Integration",
        Email="integration@sfqb-sandbox.example.com",
        Alias="sfqbint",
        IsActive=True,
    )
    user.update(
        Name="Sfqb Integration", OwnerId=None, CreatedById=user["Id"], LastModifiedById=user["Id"]
    )
    user.pop("OwnerId", None)
    org.store.meta["user_id"] = user["Id"]
    b.user = user["Id"]
    for n, (label, closed, won, probability, forecast) in enumerate(STAGES):
        b.new(
            "OpportunityStage",
            MasterLabel=label,
            ApiName=label,
            IsActive=True,
            IsClosed=closed,
            IsWon=won,
            DefaultProbability=float(probability),
            SortOrder=n + 1,
            ForecastCategoryName=forecast,
        )
    b.new(
        "Pricebook2",
        Name="Standard Price Book",
        IsActive=True,
        IsStandard=True,
        Description="The org's standard price book",
    )
    b.commit()


def _money(text: str) -> float:
    return float(Decimal(text))


def product_count(customers: int) -> int:
    """Catalogue items carried as Products: enough to be realistic, bounded for large seeds."""
    return max(10, min(customers // 10, 2000)) if customers else 0


def seed_org(org, size: str) -> dict:
    n = names.seed_customer_count(size)
    if n == 0:
        return {}
    b = _Builder(org)
    today = org.clock.now().date()
    standard = org.standard_pricebook()

    # products and standard prices
    entries = []
    for i in range(product_count(n)):
        category, sub, leaf = names.item_path(i)
        code = names.item_fqn(i) if i % 5 != 4 else None  # most carry the QB item's FQN
        product = b.new(
            "Product2",
            Name=leaf,
            ProductCode=code,
            Family=None,
            IsActive=True,
            Description=f"{category} / {sub}: {leaf}",
        )
        entries.append(
            b.new(
                "PricebookEntry",
                Pricebook2Id=standard["Id"],
                Product2Id=product["Id"],
                UnitPrice=_money(names.item_price(i)),
                IsActive=True,
                UseStandardPrice=False,
                Name=leaf,
                ProductCode=code,
            )
        )
    for k in range(SF_ONLY_PRODUCTS):
        product = b.new(
            "Product2",
            Name=f"Salesforce-only Service Plan {k + 1}",
            ProductCode=f"SF-ONLY-{k + 1:03d}",
            IsActive=True,
        )
        entries.append(
            b.new(
                "PricebookEntry",
                Pricebook2Id=standard["Id"],
                Product2Id=product["Id"],
                UnitPrice=float(99 + 100 * k),
                IsActive=True,
                UseStandardPrice=False,
                Name=product["Name"],
                ProductCode=product["ProductCode"],
            )
        )

    # accounts: the regular range, then the two edge cases
    account_names = [(i, names.company_name(i)) for i in range(n // 2, n // 2 + n)]
    account_names.append((0, names.company_name(0).upper() + " "))
    account_names.append((n - 1, names.company_name(n - 1)))
    person_n = 0
    opp_n = 0
    for a, (i, name) in enumerate(account_names):
        addr = names.address(i)
        account = b.new(
            "Account",
            Name=name,
            Phone=names.phone(i),
            Website=f"https://www.example.com/{i}",
            BillingStreet=addr["line1"],
            BillingCity=addr["city"],
            BillingState=addr["state"],
            BillingPostalCode=addr["postal_code"],
            BillingCountry=addr["country"],
            ShippingStreet=addr["line1"] if a % 2 == 0 else None,
            ShippingCity=addr["city"] if a % 2 == 0 else None,
            ShippingState=addr["state"] if a % 2 == 0 else None,
            ShippingPostalCode=addr["postal_code"] if a % 2 == 0 else None,
            ShippingCountry=addr["country"] if a % 2 == 0 else None,
            Terms__c=_TERMS[a % len(_TERMS)],
            Credit_Limit__c=float(5000 * (a % 4)) if a % 4 else None,
            Sales_Rep__c="JS" if a % 3 == 0 else None,
            Sync_Me__c=a % 6 == 0,
        )
        contacts = []
        for c in range(1 + a % 2):
            given, family = names.person(person_n)
            caddr = names.address(person_n + 7)
            billing = c == 0 and a % 4 != 3
            contacts.append(
                b.new(
                    "Contact",
                    AccountId=account["Id"],
                    FirstName=given,
                    LastName=family,
                    Name=f"{given} {family}",
                    Email=names.email(person_n),
                    Phone=names.phone(person_n),
                    MailingStreet=caddr["line1"] if billing else None,
                    MailingCity=caddr["city"] if billing else None,
                    MailingState=caddr["state"] if billing else None,
                    MailingPostalCode=caddr["postal_code"] if billing else None,
                    MailingCountry=caddr["country"] if billing else None,
                    Is_Billing_Contact__c=billing,
                )
            )
            person_n += 1
        for k in range(a % 3):
            stage = _STAGES[_OPP_STAGES[opp_n % len(_OPP_STAGES)]]
            line_count = opp_n % 4 if entries else 0
            close = (
                today - dt.timedelta(days=(opp_n * 7) % 120)
                if stage[1]
                else (today + dt.timedelta(days=(opp_n * 11) % 90 + 1))
            )
            opp = b.new(
                "Opportunity",
                Name=f"{name.strip()} - Deal {k + 1}",
                AccountId=account["Id"],
                StageName=stage[0],
                CloseDate=close.isoformat(),
                IsClosed=stage[1],
                IsWon=stage[2],
                Probability=float(stage[3]),
                Transaction_Type__c=_TX_TYPES[opp_n % len(_TX_TYPES)],
                Pricebook2Id=standard["Id"] if line_count else None,
                HasOpportunityLineItem=bool(line_count),
                PO_Number__c=f"PO-{10000 + opp_n}" if opp_n % 3 == 0 else None,
                Terms__c=_TERMS[opp_n % len(_TERMS)],
            )
            total = Decimal(0)
            for line in range(line_count):
                entry = entries[(opp_n * 3 + line) % len(entries)]
                quantity = 1 + (opp_n + line) % 5
                unit = Decimal(str(entry["UnitPrice"]))
                price = unit * quantity
                total += price
                b.new(
                    "OpportunityLineItem",
                    OpportunityId=opp["Id"],
                    PricebookEntryId=entry["Id"],
                    Product2Id=entry["Product2Id"],
                    Name=f"{opp['Name']} {entry['Name']}",
                    ProductCode=entry.get("ProductCode"),
                    Quantity=float(quantity),
                    UnitPrice=float(unit),
                    ListPrice=float(unit),
                    TotalPrice=float(price),
                    Subtotal=float(price),
                    SortOrder=line + 1,
                    Description=f"Line {line + 1}",
                )
            opp["Amount"] = float(total) if line_count else float(1000 + 250 * (opp_n % 20))
            opp["ExpectedRevenue"] = round(opp["Amount"] * stage[3] / 100, 2)
            opp["ForecastCategoryName"] = stage[4]
            if contacts:
                b.new(
                    "OpportunityContactRole",
                    OpportunityId=opp["Id"],
                    ContactId=contacts[0]["Id"],
                    Role=_ROLES[opp_n % len(_ROLES)],
                    IsPrimary=opp_n % 2 == 0,
                )
            opp_n += 1
    counts = {s: len(r) for s, r in b.batches.items()}
    b.commit()
    return counts


_STAGES = {s[0]: s for s in STAGES}
