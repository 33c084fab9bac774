"""A small stand-in for ``schema.py`` until the real one (parsed from include/salesforce/) lands.

It implements the same interface (FieldDef, ObjectDef, Schema, load_schema) with the fields
the server, its seed and its tests touch. Delete it once ``schema.py`` is committed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from pathlib import Path


@dataclass(frozen=True)
class FieldDef:
    name: str
    label: str = ""
    type: str = "string"
    length: int = 0
    precision: int = 0
    scale: int = 0
    nillable: bool = True
    createable: bool = True
    updateable: bool = True
    defaulted_on_create: bool = False
    default_value: object = None
    external_id: bool = False
    unique: bool = False
    case_sensitive: bool = False
    calculated: bool = False
    auto_number: bool = False
    custom: bool = False
    picklist_values: tuple[str, ...] = ()
    restricted_picklist: bool = False
    reference_to: tuple[str, ...] = ()
    relationship_name: str | None = None
    cascade_delete: bool = False
    filterable: bool = True
    sortable: bool = True
    name_field: bool = False
    id_lookup: bool = False

    def describe(self) -> dict:
        return {
            "name": self.name, "label": self.label or self.name, "type": self.type,
            "length": self.length, "precision": self.precision, "scale": self.scale,
            "nillable": self.nillable, "createable": self.createable,
            "updateable": self.updateable, "defaultedOnCreate": self.defaulted_on_create,
            "defaultValue": self.default_value, "externalId": self.external_id,
            "unique": self.unique, "caseSensitive": self.case_sensitive,
            "calculated": self.calculated, "autoNumber": self.auto_number, "custom": self.custom,
            "picklistValues": [
                {"active": True, "defaultValue": False, "label": v, "validFor": None, "value": v}
                for v in self.picklist_values
            ],
            "restrictedPicklist": self.restricted_picklist,
            "referenceTo": list(self.reference_to), "relationshipName": self.relationship_name,
            "cascadeDelete": self.cascade_delete, "filterable": self.filterable,
            "sortable": self.sortable, "nameField": self.name_field, "idLookup": self.id_lookup,
        }


@dataclass(frozen=True)
class ChildRelationship:
    child_sobject: str
    field: str
    relationship_name: str
    cascade_delete: bool = False


@dataclass
class ObjectDef:
    name: str
    label: str
    label_plural: str
    key_prefix: str
    custom: bool
    fields: dict[str, FieldDef]
    layouts: list = field(default_factory=list)
    child_relationships: list[ChildRelationship] = field(default_factory=list)

    def field(self, name: str) -> FieldDef | None:
        return self._lower().get(name.lower())

    def _lower(self) -> dict[str, FieldDef]:
        cache = self.__dict__.get("_by_lower")
        if cache is None:
            cache = {k.lower(): v for k, v in self.fields.items()}
            self.__dict__["_by_lower"] = cache
        return cache

    def required_on_create(self) -> list[FieldDef]:
        return [
            f for f in self.fields.values()
            if f.createable and not f.nillable and not f.defaulted_on_create and f.type != "boolean"
        ]

    def describe(self, api_version: str) -> dict:
        base = f"/services/data/v{api_version}/sobjects/{self.name}"
        return {
            "name": self.name, "label": self.label, "labelPlural": self.label_plural,
            "keyPrefix": self.key_prefix, "custom": self.custom, "createable": True,
            "updateable": True, "deletable": True, "queryable": True,
            "fields": [f.describe() for f in self.fields.values()],
            "childRelationships": [
                {"childSObject": c.child_sobject, "field": c.field,
                 "relationshipName": c.relationship_name, "cascadeDelete": c.cascade_delete}
                for c in self.child_relationships
            ],
            "recordTypeInfos": [{"name": "Master", "developerName": "Master",
                                 "recordTypeId": "012000000000000AAA", "master": True,
                                 "available": True, "active": True,
                                 "defaultRecordTypeMapping": True}],
            "urls": {"sobject": base, "describe": f"{base}/describe",
                     "layouts": f"{base}/describe/layouts"},
        }

    def describe_layouts(self, api_version: str) -> dict:
        items = [
            {"label": f.label or f.name, "required": not f.nillable, "editableForNew": f.createable,
             "editableForUpdate": f.updateable,
             "layoutComponents": [{"type": "Field", "value": f.name, "details": f.describe()}]}
            for f in self.fields.values() if f.name not in _SYSTEM
        ]
        section = {"heading": f"{self.label} Information", "columns": 1, "rows": len(items),
                   "layoutRows": [{"layoutItems": [item]} for item in items]}
        layout_id = "00h" + self.key_prefix.ljust(12, "0")[:12] + "AAA"
        return {
            "layouts": [{"id": layout_id, "detailLayoutSections": [section],
                         "editLayoutSections": [section], "relatedLists": [],
                         "buttonLayoutSection": None, "quickActionList": None, "saveOptions": []}],
            "recordTypeMappings": [{"recordTypeId": "012000000000000AAA", "layoutId": layout_id,
                                    "master": True, "name": "Master", "available": True,
                                    "defaultRecordTypeMapping": True, "picklistsForRecordType": []}],
            "recordTypeSelectorRequired": [False],
        }


@dataclass
class Schema:
    objects: dict[str, ObjectDef]

    def object(self, name: str) -> ObjectDef | None:
        for key, obj in self.objects.items():
            if key.lower() == name.lower():
                return obj
        return None

    def by_key_prefix(self, prefix: str) -> ObjectDef | None:
        for obj in self.objects.values():
            if obj.key_prefix == prefix:
                return obj
        return None


_SYSTEM = {"Id", "IsDeleted", "CreatedDate", "CreatedById", "LastModifiedDate",
           "LastModifiedById", "SystemModstamp"}


def _f(name: str, type_: str = "string", length: int = 0, **kw) -> FieldDef:
    if type_ in ("string", "textarea", "phone", "url", "email", "picklist") and not length:
        length = 255
    if type_ == "id":
        length = 18
    if type_ == "reference" and "reference_to" in kw:
        length = 18
        kw.setdefault("relationship_name", name[:-2] if name.endswith("Id") else name[:-1] + "r")
    if type_ == "currency":
        kw.setdefault("precision", 18)
        kw.setdefault("scale", 2)
    if type_ == "boolean":
        kw.setdefault("nillable", False)
        kw.setdefault("defaulted_on_create", True)
        kw.setdefault("default_value", False)
    kw.setdefault("custom", name.endswith("__c"))
    return FieldDef(name=name, label=name.replace("__c", "").replace("_", " "), type=type_,
                    length=length, **kw)


def _system() -> list[FieldDef]:
    ro = {"createable": False, "updateable": False}
    return [
        _f("Id", "id", nillable=False, defaulted_on_create=True, id_lookup=True, **ro),
        _f("IsDeleted", "boolean", **ro),
        _f("CreatedDate", "datetime", nillable=False, defaulted_on_create=True, **ro),
        _f("CreatedById", "reference", reference_to=("User",), relationship_name="CreatedBy",
           nillable=False, defaulted_on_create=True, **ro),
        _f("LastModifiedDate", "datetime", nillable=False, defaulted_on_create=True, **ro),
        _f("LastModifiedById", "reference", reference_to=("User",),
           relationship_name="LastModifiedBy", nillable=False, defaulted_on_create=True, **ro),
        _f("SystemModstamp", "datetime", nillable=False, defaulted_on_create=True, **ro),
    ]


def _obj(name, prefix, fields, children=(), label_plural=None) -> ObjectDef:
    all_fields = {f.name: f for f in _system() + list(fields)}
    return ObjectDef(name=name, label=name.replace("__c", "").replace("_", " "),
                     label_plural=label_plural or name + "s", key_prefix=prefix,
                     custom=name.endswith("__c"), fields=all_fields,
                     child_relationships=[ChildRelationship(*c) for c in children])


RO = {"createable": False, "updateable": False}
EXT = {"external_id": True, "unique": True, "id_lookup": True}
STAGES = ("Prospecting", "Qualification", "Needs Analysis", "Value Proposition",
          "Proposal/Price Quote", "Negotiation/Review", "Closed Won", "Closed Lost", "Migrated")


def _address(prefix: str) -> list[FieldDef]:
    return [_f(f"{prefix}Street", "textarea"), _f(f"{prefix}City", length=40),
            _f(f"{prefix}State", length=80), _f(f"{prefix}PostalCode", length=20),
            _f(f"{prefix}Country", length=80)]


def _build() -> Schema:
    owner = _f("OwnerId", "reference", reference_to=("User",), relationship_name="Owner",
               defaulted_on_create=True, nillable=False)
    sync = [_f("Last_Sync_Date__c", "datetime"), _f("Sync_Me__c", "boolean")]
    objs = [
        _obj("User", "005", [_f("Username", length=80, nillable=False), _f("Name", **RO),
                             _f("FirstName", length=40), _f("LastName", length=80, nillable=False),
                             _f("Email", "email", nillable=False), _f("Alias", length=8),
                             _f("IsActive", "boolean")]),
        _obj("Account", "001", [
            _f("Name", nillable=False, name_field=True), owner,
            _f("ParentId", "reference", reference_to=("Account",)),
            _f("Phone", "phone", length=40), _f("Website", "url"), _f("Type", "picklist"),
            *_address("Billing"), *_address("Shipping"),
            _f("External_Account_ID__c", **EXT), *sync,
            _f("Billing_Address_Block__c", "textarea", length=1000),
            _f("Shipping_Address_Block__c", "textarea", length=1000),
            _f("Credit_Limit__c", "currency"), _f("Sales_Rep__c", length=5),
            _f("Terms__c", length=100),
        ], [("Contact", "AccountId", "Contacts"), ("Opportunity", "AccountId", "Opportunities"),
            ("Account", "ParentId", "ChildAccounts")]),
        _obj("Contact", "003", [
            _f("AccountId", "reference", reference_to=("Account",)), owner,
            _f("FirstName", length=40), _f("LastName", length=80, nillable=False),
            _f("Name", length=121, **RO), _f("Email", "email", length=80),
            _f("Phone", "phone", length=40), *_address("Mailing"),
            _f("External_Account_ID__c"), _f("External_Contact_ID__c", **EXT),
            _f("Is_Billing_Contact__c", "boolean"), *sync,
        ]),
        _obj("Opportunity", "006", [
            _f("Name", length=120, nillable=False, name_field=True), owner,
            _f("AccountId", "reference", reference_to=("Account",)),
            _f("StageName", "picklist", length=255, nillable=False, picklist_values=STAGES,
               restricted_picklist=True),
            _f("CloseDate", "date", nillable=False), _f("Amount", "currency"),
            _f("Probability", "percent", precision=3, scale=0),
            _f("IsClosed", "boolean", **RO), _f("IsWon", "boolean", **RO),
            _f("HasOpportunityLineItem", "boolean", **RO),
            _f("Pricebook2Id", "reference", reference_to=("Pricebook2",)),
            _f("Description", "textarea", length=32000),
            _f("Transaction_Type__c", "picklist",
               picklist_values=("None", "Invoice", "Sales Receipt", "Sales Order"),
               restricted_picklist=True),
            _f("External_Transaction_ID__c", **EXT), _f("External_Transaction_Number__c"),
            _f("Terms__c"), _f("Class__c"), _f("Shipping_Method__c"), _f("Sales_Rep__c", length=5),
            _f("PO_Number__c"), _f("Due_Date__c", "date"), _f("Ship_Date__c", "date"),
            _f("Transaction_Date__c", "date"),
            _f("Billing_Address_Block__c", "textarea", length=1000),
            _f("Shipping_Address_Block__c", "textarea", length=1000), *sync,
        ], [("OpportunityLineItem", "OpportunityId", "OpportunityLineItems", True),
            ("OpportunityContactRole", "OpportunityId", "OpportunityContactRoles", True)]),
        _obj("OpportunityStage", "01J", [
            _f("MasterLabel", **RO), _f("ApiName", **RO), _f("IsActive", "boolean", **RO),
            _f("IsClosed", "boolean", **RO), _f("IsWon", "boolean", **RO),
            _f("DefaultProbability", "percent", **RO), _f("SortOrder", "int", **RO),
            _f("ForecastCategoryName", **RO)]),
        _obj("Product2", "01t", [
            _f("Name", nillable=False, name_field=True), _f("ProductCode"),
            _f("Description", "textarea", length=4000), _f("Family", "picklist"),
            _f("IsActive", "boolean"), _f("External_Item_ID__c", **EXT),
            _f("Last_Sync_Date__c", "datetime"), _f("Quantity_On_Hand__c", "double"),
            _f("Quantity_Allocated__c", "double"),
        ], [("PricebookEntry", "Product2Id", "PricebookEntries")]),
        _obj("Pricebook2", "01s", [
            _f("Name", nillable=False, name_field=True), _f("IsActive", "boolean"),
            _f("IsStandard", "boolean", **RO), _f("Description", "textarea")],
            [("PricebookEntry", "Pricebook2Id", "PricebookEntries")], "Price Books"),
        _obj("PricebookEntry", "01u", [
            _f("Name", **RO),
            _f("Pricebook2Id", "reference", reference_to=("Pricebook2",), nillable=False,
               updateable=False),
            _f("Product2Id", "reference", reference_to=("Product2",), nillable=False,
               updateable=False),
            _f("UnitPrice", "currency"), _f("IsActive", "boolean"),
            _f("UseStandardPrice", "boolean"), _f("ProductCode", **RO)], label_plural="Price Book Entries"),
        _obj("OpportunityLineItem", "00k", [
            _f("OpportunityId", "reference", reference_to=("Opportunity",), nillable=False,
               updateable=False),
            _f("PricebookEntryId", "reference", reference_to=("PricebookEntry",), updateable=False),
            _f("Product2Id", "reference", reference_to=("Product2",), **RO),
            _f("Name", **RO), _f("ProductCode", **RO),
            _f("Quantity", "double", nillable=False), _f("UnitPrice", "currency"),
            _f("ListPrice", "currency", **RO), _f("TotalPrice", "currency"),
            _f("ServiceDate", "date"), _f("Description", "textarea"), _f("SortOrder", "int"),
            _f("External_Line_ID__c", **EXT), _f("External_Line_Index__c", "double"),
        ]),
        _obj("OpportunityContactRole", "00K", [
            _f("OpportunityId", "reference", reference_to=("Opportunity",), nillable=False,
               updateable=False),
            _f("ContactId", "reference", reference_to=("Contact",), nillable=False),
            _f("Role", "picklist", picklist_values=("Business User", "Decision Maker",
               "Economic Buyer", "Economic Decision Maker", "Evaluator", "Executive Sponsor",
               "Influencer", "Technical Buyer", "Other")),
            _f("IsPrimary", "boolean")]),
        _obj("Invoice__c", "a00", [_f("Name", length=80), owner,
                                   _f("Account__c", "reference", reference_to=("Account",)),
                                   _f("External_Invoice_ID__c", **EXT),
                                   _f("Total__c", "currency")],
             [("Invoice_Item__c", "Invoice__c", "Invoice_Items__r", True),
              ("Invoice_Opportunity_Link__c", "Invoice__c", "Invoice_Opportunity_Links__r", True)]),
        _obj("Invoice_Item__c", "a01", [
            _f("Name", length=80),
            _f("Invoice__c", "reference", reference_to=("Invoice__c",), nillable=False,
               relationship_name="Invoice__r", cascade_delete=True),
            _f("Amount__c", "currency")]),
        _obj("Invoice_Opportunity_Link__c", "a02", [
            _f("Name", length=80),
            _f("Invoice__c", "reference", reference_to=("Invoice__c",), nillable=False,
               relationship_name="Invoice__r"),
            _f("Opportunity__c", "reference", reference_to=("Opportunity",),
               relationship_name="Opportunity__r")]),
    ]
    return Schema({o.name: o for o in objs})


@cache
def load_schema(metadata_root: Path | None = None) -> Schema:
    return _build()
