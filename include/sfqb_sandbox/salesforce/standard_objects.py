"""The standard objects of the sandbox org, with their real fields (api-notes 3.2, 3.8, 3.11).

A real org already has these objects, so the SFDX package does not ship them; the sandbox
declares the subset our DAGs and their tests touch, with the types, lengths, nillability and
create/update permissions a real describe reports. The package's custom fields are added on
top by ``schema.load_schema`` from the SFDX XML.
"""

from __future__ import annotations

from .schema import FieldDef, ObjectDef, StageDef

READ_ONLY = {"createable": False, "updateable": False}
CREATE_ONLY = {"updateable": False}

KEY_PREFIXES = {
    "Account": "001",
    "Contact": "003",
    "Opportunity": "006",
    "Product2": "01t",
    "Pricebook2": "01s",
    "PricebookEntry": "01u",
    "OpportunityLineItem": "00k",
    "OpportunityContactRole": "00K",
    "User": "005",
    "OpportunityStage": "01J",
}

# Fallback stage list, used only when the SFDX value set file is missing.
_DEFAULT_STAGES = (
    StageDef("Prospecting", "Prospecting", False, False, 10, "Pipeline", sort_order=1),
    StageDef("Closed Won", "Closed Won", True, True, 100, "Closed", sort_order=2),
    StageDef("Closed Lost", "Closed Lost", True, False, 0, "Omitted", sort_order=3),
)


def _string(name: str, label: str, length: int, **kw) -> FieldDef:
    return FieldDef(name=name, label=label, type="string", length=length, **kw)


def _typed(name: str, label: str, type_: str, **kw) -> FieldDef:
    sizes = {"phone": 40, "url": 255, "email": 80, "textarea": 32000}
    if type_ in sizes:
        kw.setdefault("length", sizes[type_])
    if type_ == "textarea" and kw["length"] > 255:
        kw.setdefault("filterable", False)
        kw.setdefault("sortable", False)
        kw.setdefault("extra_type_info", "plaintextarea")
    if type_ == "currency":
        kw.setdefault("precision", 18)
        kw.setdefault("scale", 2)
    return FieldDef(name=name, label=label, type=type_, **kw)


def _bool(name: str, label: str, default: bool = False, **kw) -> FieldDef:
    return FieldDef(
        name=name,
        label=label,
        type="boolean",
        nillable=False,
        defaulted_on_create=True,
        default_value=default,
        **kw,
    )


def _pick(name: str, label: str, values: tuple[str, ...], **kw) -> FieldDef:
    return FieldDef(
        name=name, label=label, type="picklist", length=255, picklist_values=values, **kw
    )


def _ref(name: str, label: str, target: str, relationship: str | None = None, **kw) -> FieldDef:
    return FieldDef(
        name=name,
        label=label,
        type="reference",
        length=18,
        reference_to=(target,),
        relationship_name=relationship or name.removesuffix("Id"),
        **kw,
    )


def system_fields() -> list[FieldDef]:
    """Id and the audit fields every object carries (api-notes 3.2)."""
    audit = {"nillable": False, "defaulted_on_create": True, **READ_ONLY}
    return [
        FieldDef(name="Id", label="Record ID", type="id", length=18, id_lookup=True, **audit),
        _bool("IsDeleted", "Deleted", **READ_ONLY),
        _typed("CreatedDate", "Created Date", "datetime", **audit),
        _ref("CreatedById", "Created By ID", "User", "CreatedBy", **audit),
        _typed("LastModifiedDate", "Last Modified Date", "datetime", **audit),
        _ref("LastModifiedById", "Last Modified By ID", "User", "LastModifiedBy", **audit),
        _typed("SystemModstamp", "System Modstamp", "datetime", **audit),
    ]


def owner_field() -> FieldDef:
    return _ref("OwnerId", "Owner ID", "User", "Owner", nillable=False, defaulted_on_create=True)


def _address(prefix: str, label: str) -> list[FieldDef]:
    """The parts of a compound address plus the read-only compound field itself."""
    compound = f"{prefix}Address"
    part = {"compound_field_name": compound}
    return [
        _typed(
            f"{prefix}Street",
            f"{label} Street",
            "textarea",
            length=255,
            extra_type_info="plaintextarea",
            **part,
        ),
        _string(f"{prefix}City", f"{label} City", 40, **part),
        _string(f"{prefix}State", f"{label} State/Province", 80, **part),
        _string(f"{prefix}PostalCode", f"{label} Zip/Postal Code", 20, **part),
        _string(f"{prefix}Country", f"{label} Country", 80, **part),
        _typed(f"{prefix}Latitude", f"{label} Latitude", "double", precision=18, scale=15, **part),
        _typed(
            f"{prefix}Longitude", f"{label} Longitude", "double", precision=18, scale=15, **part
        ),
        _typed(
            compound, f"{label} Address", "address", filterable=False, sortable=False, **READ_ONLY
        ),
    ]


LEAD_SOURCES = ("Web", "Phone Inquiry", "Partner Referral", "Purchased List", "Other")
CONTACT_ROLES = (
    "Business User",
    "Decision Maker",
    "Economic Buyer",
    "Economic Decision Maker",
    "Evaluator",
    "Executive Sponsor",
    "Influencer",
    "Technical Buyer",
    "Other",
)


def _account() -> list[FieldDef]:
    return [
        _string("Name", "Account Name", 255, nillable=False, name_field=True),
        _string("AccountNumber", "Account Number", 40),
        _string("Site", "Account Site", 80),
        _ref("ParentId", "Parent Account ID", "Account", "Parent"),
        _pick(
            "Type",
            "Account Type",
            (
                "Prospect",
                "Customer - Direct",
                "Customer - Channel",
                "Channel Partner / Reseller",
                "Installation Partner",
                "Technology Partner",
                "Other",
            ),
        ),
        _pick(
            "Industry",
            "Industry",
            (
                "Agriculture",
                "Apparel",
                "Banking",
                "Biotechnology",
                "Construction",
                "Consulting",
                "Education",
                "Electronics",
                "Energy",
                "Finance",
                "Healthcare",
                "Manufacturing",
                "Media",
                "Retail",
                "Technology",
                "Other",
            ),
        ),
        _typed("AnnualRevenue", "Annual Revenue", "currency", precision=18, scale=0),
        FieldDef(name="NumberOfEmployees", label="Employees", type="int", digits=8),
        _pick("Ownership", "Ownership", ("Public", "Private", "Subsidiary", "Other")),
        _string("TickerSymbol", "Ticker Symbol", 20),
        _pick("Rating", "Account Rating", ("Hot", "Warm", "Cold")),
        _string("Sic", "SIC Code", 20),
        _typed("Phone", "Account Phone", "phone"),
        _typed("Fax", "Account Fax", "phone"),
        _typed("Website", "Website", "url"),
        _typed("Description", "Account Description", "textarea"),
        *_address("Billing", "Billing"),
        *_address("Shipping", "Shipping"),
        owner_field(),
    ]


def _contact() -> list[FieldDef]:
    return [
        _ref("AccountId", "Account ID", "Account"),
        _string("LastName", "Last Name", 80, nillable=False),
        _string("FirstName", "First Name", 40),
        _pick("Salutation", "Salutation", ("Mr.", "Ms.", "Mrs.", "Dr.", "Prof.")),
        _string(
            "Name",
            "Full Name",
            121,
            name_field=True,
            calculated=True,
            extra_type_info="personname",
            **READ_ONLY,
        ),
        _string("Title", "Title", 128),
        _string("Department", "Department", 80),
        _ref("ReportsToId", "Reports To ID", "Contact", "ReportsTo"),
        _pick("LeadSource", "Lead Source", LEAD_SOURCES),
        _typed("Email", "Email", "email", id_lookup=True),
        _typed("Phone", "Business Phone", "phone"),
        _typed("MobilePhone", "Mobile Phone", "phone"),
        _typed("HomePhone", "Home Phone", "phone"),
        _typed("OtherPhone", "Other Phone", "phone"),
        _typed("Fax", "Business Fax", "phone"),
        _typed("Birthdate", "Birthdate", "date"),
        _typed("Description", "Contact Description", "textarea"),
        *_address("Mailing", "Mailing"),
        *_address("Other", "Other"),
        owner_field(),
    ]


def _opportunity(stages: list[StageDef]) -> list[FieldDef]:
    active = tuple(s.name for s in stages if s.active)
    default = next((s.name for s in stages if s.default), None)
    return [
        _string("Name", "Name", 120, nillable=False, name_field=True),
        _ref("AccountId", "Account ID", "Account"),
        _pick(
            "StageName",
            "Stage",
            active,
            nillable=False,
            restricted_picklist=True,
            picklist_default=default,
        ),
        _typed("CloseDate", "Close Date", "date", nillable=False),
        _typed("Amount", "Amount", "currency"),
        _typed(
            "Probability",
            "Probability (%)",
            "percent",
            precision=3,
            scale=0,
            defaulted_on_create=True,
        ),
        _typed("ExpectedRevenue", "Expected Amount", "currency", calculated=True, **READ_ONLY),
        _pick(
            "Type",
            "Opportunity Type",
            (
                "Existing Customer - Upgrade",
                "Existing Customer - Replacement",
                "Existing Customer - Downgrade",
                "New Customer",
            ),
        ),
        _pick("LeadSource", "Lead Source", LEAD_SOURCES),
        _string("NextStep", "Next Step", 255),
        _typed("Description", "Description", "textarea"),
        _bool("IsClosed", "Closed", **READ_ONLY),
        _bool("IsWon", "Won", **READ_ONLY),
        _pick(
            "ForecastCategoryName",
            "Forecast Category",
            ("Omitted", "Pipeline", "Best Case", "Commit", "Closed"),
            restricted_picklist=True,
            defaulted_on_create=True,
        ),
        _ref("Pricebook2Id", "Price Book ID", "Pricebook2", "Pricebook2"),
        _bool("HasOpportunityLineItem", "Has Line Item", **READ_ONLY),
        owner_field(),
    ]


def _opportunity_line_item() -> list[FieldDef]:
    return [
        _ref("OpportunityId", "Opportunity ID", "Opportunity", nillable=False, **CREATE_ONLY),
        # Nillable in describe: the server answers a missing entry with api-notes 3.11's
        # FIELD_INTEGRITY_EXCEPTION rather than REQUIRED_FIELD_MISSING.
        _ref("PricebookEntryId", "Price Book Entry ID", "PricebookEntry", **CREATE_ONLY),
        _ref("Product2Id", "Product ID", "Product2", **READ_ONLY),
        _string("Name", "Opportunity Product Name", 376, **READ_ONLY),
        _string("ProductCode", "Product Code", 255, **READ_ONLY),
        _typed("Quantity", "Quantity", "double", precision=12, scale=2, nillable=False),
        _typed("UnitPrice", "Sales Price", "currency"),
        _typed("TotalPrice", "Total Price", "currency"),
        _typed("ListPrice", "List Price", "currency", **READ_ONLY),
        _typed("Subtotal", "Subtotal", "currency", calculated=True, **READ_ONLY),
        _typed("Discount", "Discount", "percent", precision=5, scale=2),
        _typed("ServiceDate", "Date", "date"),
        _string("Description", "Line Description", 255),
        FieldDef(name="SortOrder", label="Sort Order", type="int", digits=9),
    ]


def _contact_role() -> list[FieldDef]:
    return [
        _ref("OpportunityId", "Opportunity ID", "Opportunity", nillable=False, **CREATE_ONLY),
        _ref("ContactId", "Contact ID", "Contact", nillable=False),
        _pick("Role", "Role", CONTACT_ROLES),
        _bool("IsPrimary", "Primary"),
    ]


def _stage() -> list[FieldDef]:
    return [
        _string("MasterLabel", "Master Label", 255, nillable=False, name_field=True, **READ_ONLY),
        _string("ApiName", "Api Name", 255, nillable=False, **READ_ONLY),
        _bool("IsActive", "Is Active", **READ_ONLY),
        FieldDef(name="SortOrder", label="Sort Order", type="int", digits=9, **READ_ONLY),
        _bool("IsClosed", "Closed", **READ_ONLY),
        _bool("IsWon", "Won", **READ_ONLY),
        _pick(
            "ForecastCategory",
            "Forecast Type",
            ("Omitted", "Pipeline", "BestCase", "Forecast", "Closed"),
            **READ_ONLY,
        ),
        _string("ForecastCategoryName", "Forecast Category", 255, **READ_ONLY),
        _typed(
            "DefaultProbability", "Probability (%)", "percent", precision=3, scale=0, **READ_ONLY
        ),
        _string("Description", "Description", 255, **READ_ONLY),
    ]


def _product() -> list[FieldDef]:
    return [
        _string("Name", "Product Name", 255, nillable=False, name_field=True),
        _string("ProductCode", "Product Code", 255),
        _typed("Description", "Product Description", "textarea", length=4000),
        _pick("Family", "Product Family", ("None",)),
        _bool("IsActive", "Active"),
        _pick("QuantityUnitOfMeasure", "Quantity Unit Of Measure", ("Each",)),
        _string("StockKeepingUnit", "Product SKU", 180),
        _string("ExternalId", "External ID", 255),
        _typed("DisplayUrl", "Display URL", "url", length=1000),
        _bool("IsArchived", "Is Archived", **READ_ONLY),
    ]


def _pricebook() -> list[FieldDef]:
    return [
        _string("Name", "Price Book Name", 255, nillable=False, name_field=True),
        _bool("IsActive", "Active"),
        _bool("IsStandard", "Is Standard Price Book", **READ_ONLY),
        _string("Description", "Description", 255),
        _bool("IsArchived", "Is Archived", **READ_ONLY),
    ]


def _pricebook_entry() -> list[FieldDef]:
    return [
        _string("Name", "Product Name", 255, name_field=True, **READ_ONLY),
        _ref("Pricebook2Id", "Price Book ID", "Pricebook2", nillable=False, **CREATE_ONLY),
        _ref("Product2Id", "Product ID", "Product2", nillable=False, **CREATE_ONLY),
        # Nillable: required only unless UseStandardPrice (api-notes 3.11), checked by the server.
        _typed("UnitPrice", "List Price", "currency"),
        _bool("IsActive", "Active"),
        _bool("UseStandardPrice", "Use Standard Price"),
        _string("ProductCode", "Product Code", 255, **READ_ONLY),
        _bool("IsArchived", "Is Archived", **READ_ONLY),
    ]


def _user() -> list[FieldDef]:
    return [
        _string("Username", "Username", 80, nillable=False, id_lookup=True, unique=True),
        _string("LastName", "Last Name", 80, nillable=False),
        _string("FirstName", "First Name", 40),
        _string(
            "Name", "Full Name", 121, name_field=True, extra_type_info="personname", **READ_ONLY
        ),
        _typed("Email", "Email", "email", length=128, nillable=False),
        _string("Alias", "Alias", 8, nillable=False),
        _string("Title", "Title", 80),
        _string("CompanyName", "Company Name", 80),
        _bool("IsActive", "Active", default=True),
    ]


_OBJECTS = {  # name: (label, plural, field factory)
    "Account": ("Account", "Accounts", _account),
    "Contact": ("Contact", "Contacts", _contact),
    "Opportunity": ("Opportunity", "Opportunities", None),
    "OpportunityLineItem": ("Opportunity Product", "Opportunity Product", _opportunity_line_item),
    "OpportunityContactRole": (
        "Opportunity Contact Role",
        "Opportunity Contact Role",
        _contact_role,
    ),
    "OpportunityStage": ("Opportunity Stage", "Opportunity Stages", _stage),
    "Product2": ("Product", "Products", _product),
    "Pricebook2": ("Price Book", "Price Books", _pricebook),
    "PricebookEntry": ("Price Book Entry", "Price Book Entries", _pricebook_entry),
    "User": ("User", "Users", _user),
}
_READ_ONLY_OBJECTS = {"OpportunityStage"}


def build_standard_objects(stages: list[StageDef]) -> dict[str, ObjectDef]:
    """Fresh ObjectDefs of every standard object; the stage list feeds Opportunity.StageName."""
    stages = stages or list(_DEFAULT_STAGES)
    objects = {}
    for name, (label, plural, factory) in _OBJECTS.items():
        own = _opportunity(stages) if factory is None else factory()
        fields = {f.name: f for f in system_fields() + own}
        writable = name not in _READ_ONLY_OBJECTS
        objects[name] = ObjectDef(
            name=name,
            label=label,
            label_plural=plural,
            key_prefix=KEY_PREFIXES[name],
            custom=False,
            fields=fields,
            createable=writable,
            updateable=writable,
            deletable=writable,
        )
    return objects
