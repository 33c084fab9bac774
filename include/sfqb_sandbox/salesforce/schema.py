"""The sandbox org's schema: standard objects defined here, package metadata parsed from SFDX.

The custom fields, custom objects, page layouts and the Opportunity stage list are read from
the SFDX project in ``include/salesforce/`` (the same files an admin deploys to a real org), so
the sandbox can never drift from the package. Standard objects are not in that project (a real
org already has them), so their fields are declared in ``standard_objects.py`` with their real
types, lengths and nillability (api-notes 3.2, 3.8, 3.11), and their page layouts are a fresh
org's (``stock_layouts/``) with the package's ``layout-additions/`` merged in, as an admin
merges them (docs/salesforce-package.md).

The server reads everything through ``load_schema()``; describe and describe-layouts JSON
(api-notes 3.8) are rendered from these definitions.
"""

from __future__ import annotations

import os
import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from sfqb_sandbox.salesforce.flows import FlowError, RecordTriggeredFlow, load_flows
from sfqb_sandbox.salesforce.formula import FormulaError, compile_formula

MD_NS = "{http://soap.sforce.com/2006/04/metadata}"
# The standard objects' page layouts of a fresh org (the package never ships one).
STOCK_LAYOUTS = Path(__file__).resolve().parent / "stock_layouts"
MASTER_RECORD_TYPE_ID = "012000000000000AAA"
SYSTEM_FIELD_NAMES = (
    "Id",
    "IsDeleted",
    "CreatedDate",
    "CreatedById",
    "LastModifiedDate",
    "LastModifiedById",
    "SystemModstamp",
)

# Key prefixes of the package's custom objects in the sandbox (a real org assigns its own).
CUSTOM_KEY_PREFIXES = {
    "Invoice__c": "a0I",
    "Invoice_Item__c": "a0J",
    "Invoice_Opportunity_Link__c": "a0K",
}

_SOAP_TYPES = {
    "id": "tns:ID",
    "reference": "tns:ID",
    "boolean": "xsd:boolean",
    "currency": "xsd:double",
    "double": "xsd:double",
    "percent": "xsd:double",
    "int": "xsd:int",
    "date": "xsd:date",
    "datetime": "xsd:dateTime",
    "address": "urn:address",
}


@dataclass(frozen=True)
class FieldDef:
    """One field as describe reports it (api-notes 3.8); ``type`` is the describe type name."""

    name: str
    label: str
    type: str
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
    # Extras beyond the shared interface (all optional):
    compound_field_name: str | None = None  # BillingStreet -> BillingAddress
    relationship_order: int | None = None  # master-detail on a junction: 0 primary, 1 secondary
    extra_type_info: str | None = None  # plaintextarea, personname, ...
    picklist_default: str | None = None
    digits: int = 0  # int fields
    inline_help_text: str | None = None
    child_relationship_name: str | None = None  # this lookup's name on the parent ("X__r")
    display_format: str | None = None  # auto-number pattern, e.g. "II-{0000000}"

    def describe(self) -> dict:
        """The field's describe JSON (api-notes 3.8), with the keys the real API sends."""
        text_like = self.type in (
            "string",
            "textarea",
            "picklist",
            "multipicklist",
            "email",
            "phone",
            "url",
            "id",
            "reference",
        )
        return {
            "aggregatable": self.filterable and self.type not in ("textarea", "address"),
            "autoNumber": self.auto_number,
            "byteLength": self.length * 3 if text_like else 0,
            "calculated": self.calculated,
            "calculatedFormula": None,
            "cascadeDelete": self.cascade_delete,
            "caseSensitive": self.case_sensitive,
            "compoundFieldName": self.compound_field_name,
            "controllerName": None,
            "createable": self.createable,
            "custom": self.custom,
            "defaultValue": self.default_value,
            "defaultValueFormula": None,
            "defaultedOnCreate": self.defaulted_on_create,
            "dependentPicklist": False,
            "deprecatedAndHidden": False,
            "digits": self.digits,
            "displayLocationInDecimal": False,
            "encrypted": False,
            "externalId": self.external_id,
            "extraTypeInfo": self.extra_type_info,
            "filterable": self.filterable,
            "filteredLookupInfo": None,
            "groupable": self.filterable
            and self.type
            not in ("textarea", "currency", "double", "percent", "datetime", "address"),
            "highScaleNumber": False,
            "htmlFormatted": self.extra_type_info == "richtextarea",
            "idLookup": self.id_lookup,
            "inlineHelpText": self.inline_help_text,
            "label": self.label,
            "length": self.length,
            "mask": None,
            "maskType": None,
            "name": self.name,
            "nameField": self.name_field,
            "namePointing": len(self.reference_to) > 1,
            "nillable": self.nillable,
            "permissionable": self.custom and self.nillable,
            "picklistValues": [
                {
                    "active": True,
                    "defaultValue": v == self.picklist_default,
                    "label": v,
                    "validFor": None,
                    "value": v,
                }
                for v in self.picklist_values
            ],
            "polymorphicForeignKey": len(self.reference_to) > 1,
            "precision": self.precision,
            "queryByDistance": False,
            "referenceTargetField": None,
            "referenceTo": list(self.reference_to),
            "relationshipName": self.relationship_name,
            "relationshipOrder": self.relationship_order,
            "restrictedDelete": False,
            "restrictedPicklist": self.restricted_picklist,
            "scale": self.scale,
            "searchPrefilterable": self.type == "reference",
            "soapType": _SOAP_TYPES.get(self.type, "xsd:string"),
            "sortable": self.sortable,
            "type": self.type,
            "unique": self.unique,
            "updateable": self.updateable,
            "writeRequiresMasterRead": False,
        }


@dataclass(frozen=True)
class ChildRelationship:
    """A reference from ``child_sobject.field`` to this object (describe childRelationships)."""

    child_sobject: str
    field: str
    relationship_name: str | None
    cascade_delete: bool = False

    def describe(self) -> dict:
        return {
            "cascadeDelete": self.cascade_delete,
            "childSObject": self.child_sobject,
            "deprecatedAndHidden": False,
            "field": self.field,
            "junctionIdListNames": [],
            "junctionReferenceTo": [],
            "relationshipName": self.relationship_name,
            "restrictedDelete": False,
        }


@dataclass(frozen=True)
class LayoutDef:
    """A page layout: sections of field names, as in the SFDX ``.layout-meta.xml`` file.

    ``columns`` (per section, per column, field names) and ``behaviors`` (field -> Edit,
    Required or Readonly) are optional detail; without them a section renders as one column.
    """

    name: str
    sections: tuple[tuple[str, tuple[str, ...]], ...]
    columns: tuple[tuple[tuple[str, ...], ...], ...] = ()
    behaviors: tuple[tuple[str, str], ...] = ()
    related_lists: tuple[str, ...] = ()

    def fields(self) -> list[str]:
        """Every field name on the layout, in section order."""
        return [name for _, names in self.sections for name in names]


@dataclass(frozen=True)
class StageDef:
    """One value of the OpportunityStage standard value set (rows of the OpportunityStage
    object)."""

    name: str
    label: str
    closed: bool
    won: bool
    probability: int
    forecast_category: str
    active: bool = True
    sort_order: int = 0
    default: bool = False

    @property
    def forecast_category_name(self) -> str:
        """The label form that Opportunity.ForecastCategoryName and OpportunityStage carry."""
        return {"BestCase": "Best Case", "Forecast": "Commit"}.get(
            self.forecast_category, self.forecast_category
        )


@dataclass(frozen=True)
class ValidationRuleDef:
    """A validation rule of the package: a save for which ``refuses(record, before)`` is true
    fails with ``message`` (on ``field`` when set). Read from ``validationRules/`` files."""

    name: str
    refuses: Callable[[dict, dict | None], bool]
    message: str
    field: str | None = None


@dataclass
class ObjectDef:
    name: str
    label: str
    label_plural: str
    key_prefix: str
    custom: bool
    fields: dict[str, FieldDef]
    layouts: list[LayoutDef] = field(default_factory=list)
    child_relationships: list[ChildRelationship] = field(default_factory=list)
    validation_rules: list[ValidationRuleDef] = field(default_factory=list)
    # Object-level describe flags (OpportunityStage is read-only, for example).
    createable: bool = True
    updateable: bool = True
    deletable: bool = True

    def __post_init__(self) -> None:
        self._by_lower = {k.lower(): v for k, v in self.fields.items()}

    def field(self, name: str) -> FieldDef | None:
        """The field with this API name, matched case-insensitively (as SOQL and REST do)."""
        if len(self._by_lower) != len(self.fields):  # fields added after construction
            self._by_lower = {k.lower(): v for k, v in self.fields.items()}
        return self._by_lower.get(name.lower())

    def required_on_create(self) -> list[FieldDef]:
        """Fields a create must set: not nillable, createable, not defaulted by the server.

        Returns the FieldDefs (use ``f.name`` for the names), which is what the server's
        REQUIRED_FIELD_MISSING check needs.
        """
        return [
            f
            for f in self.fields.values()
            if f.createable and not f.nillable and not f.defaulted_on_create
        ]

    def name_field(self) -> FieldDef | None:
        return next((f for f in self.fields.values() if f.name_field), None)

    def describe(self, api_version: str) -> dict:
        """The object describe JSON of api-notes 3.8."""
        return {
            "activateable": False,
            "childRelationships": [c.describe() for c in self.child_relationships],
            "compactLayoutable": True,
            "createable": self.createable,
            "custom": self.custom,
            "customSetting": False,
            "deletable": self.deletable,
            "deprecatedAndHidden": False,
            "feedEnabled": False,
            "fields": [f.describe() for f in self.fields.values()],
            "hasSubtypes": False,
            "isSubtype": False,
            "keyPrefix": self.key_prefix,
            "label": self.label,
            "labelPlural": self.label_plural,
            "layoutable": True,
            "mergeable": self.name in ("Account", "Contact"),
            "mruEnabled": True,
            "name": self.name,
            "namedLayoutInfos": [],
            "networkScopeFieldName": None,
            "queryable": True,
            "recordTypeInfos": [
                {
                    "active": True,
                    "available": True,
                    "defaultRecordTypeMapping": True,
                    "developerName": "Master",
                    "master": True,
                    "name": "Master",
                    "recordTypeId": MASTER_RECORD_TYPE_ID,
                    "urls": {
                        "layout": f"{self._base(api_version)}/describe/layouts/"
                        f"{MASTER_RECORD_TYPE_ID}"
                    },
                }
            ],
            "replicateable": True,
            "retrieveable": True,
            "searchable": self.name != "OpportunityStage",
            "supportedScopes": [{"label": "All", "name": "everything"}],
            "triggerable": True,
            "undeletable": self.deletable,
            "updateable": self.updateable,
            "urls": self.urls(api_version),
        }

    def urls(self, api_version: str) -> dict:
        base = self._base(api_version)
        return {
            "compactLayouts": f"{base}/describe/compactLayouts",
            "rowTemplate": f"{base}/{{ID}}",
            "defaultValues": f"{base}/defaultValues?recordTypeId&fields",
            "describe": f"{base}/describe",
            "layouts": f"{base}/describe/layouts",
            "sobject": base,
        }

    def _base(self, api_version: str) -> str:
        return f"/services/data/v{api_version}/sobjects/{self.name}"

    def layout_id(self, index: int = 0) -> str:
        """A stable, valid 18-character Layout id (prefix 00h) for this object's n-th layout."""
        from .ids import make_id

        seed = sum(ord(c) * (i + 1) for i, c in enumerate(self.name)) * 8 + index
        return make_id("00h", seed)

    def describe_layouts(self, api_version: str) -> dict:
        """``GET …/describe/layouts/`` (api-notes 3.8): every layout, plus the master mapping."""
        layouts = self.layouts or [_default_layout(self)]
        rendered = [self.describe_layout(layout, i) for i, layout in enumerate(layouts)]
        return {
            "layouts": rendered,
            "recordTypeMappings": [
                {
                    "available": True,
                    "defaultRecordTypeMapping": True,
                    "layoutId": rendered[0]["id"],
                    "master": True,
                    "name": "Master",
                    "picklistsForRecordType": [
                        {"picklistName": f.name, "picklistValues": f.describe()["picklistValues"]}
                        for f in self.fields.values()
                        if f.type in ("picklist", "multipicklist")
                    ],
                    "recordTypeId": MASTER_RECORD_TYPE_ID,
                    "urls": {},
                }
            ],
            "recordTypeSelectorRequired": [False],
        }

    def describe_layout(self, layout: LayoutDef, index: int = 0) -> dict:
        """One DescribeLayout: sections -> layoutRows -> layoutItems -> layoutComponents."""
        behaviors = dict(layout.behaviors)
        detail, edit = [], []
        for i, (heading, names) in enumerate(layout.sections):
            cols = layout.columns[i] if i < len(layout.columns) else (names,)
            detail.append(self._section(heading, cols, behaviors))
            edit.append(self._section(heading, cols, behaviors))
        return {
            "buttonLayoutSection": {"detailButtons": []},
            "detailLayoutSections": detail,
            "editLayoutSections": edit,
            "feedView": None,
            "highlightsPanelLayoutSection": None,
            "id": self.layout_id(index),
            "multirowEditLayoutSections": [],
            "offlineLinks": [],
            "quickActionList": {"quickActionListItems": []},
            "relatedContent": None,
            "relatedLists": [
                {
                    "name": r,
                    "sobject": r.split(".")[0] if "." in r else None,
                    "field": r.split(".")[1] if "." in r else None,
                }
                for r in layout.related_lists
            ],
            "saveOptions": [],
        }

    def _section(self, heading: str, cols: tuple[tuple[str, ...], ...], behaviors: dict) -> dict:
        rows = max((len(c) for c in cols), default=0)
        layout_rows = []
        for r in range(rows):
            items = []
            for col in cols:
                name = col[r] if r < len(col) else None
                items.append(self._item(name, behaviors.get(name or "", "Edit")))
            layout_rows.append({"layoutItems": items, "numItems": len(items)})
        return {
            "collapsed": False,
            "columns": len(cols),
            "heading": heading,
            "layoutRows": layout_rows,
            "layoutSectionId": None,
            "parentLayoutId": None,
            "rows": rows,
            "tabOrder": "TopToBottom",
            "useCollapsibleSection": False,
            "useHeading": True,
        }

    def _item(self, name: str | None, behavior: str) -> dict:
        if name is None:
            return {
                "editableForNew": False,
                "editableForUpdate": False,
                "label": "",
                "layoutComponents": [],
                "placeholder": True,
                "required": False,
            }
        f = self.field(name)
        details = f.describe() if f is not None else None
        writable = behavior != "Readonly" and f is not None
        component = {
            "displayLines": 1,
            "tabOrder": 0,
            "type": "Field",
            "value": name,
            "details": details,
        }
        return {
            "editableForNew": writable and bool(f and f.createable),
            "editableForUpdate": writable and bool(f and f.updateable),
            "label": f.label if f is not None else name,
            "layoutComponents": [component],
            "placeholder": False,
            "required": behavior == "Required",
        }


@dataclass
class Schema:
    objects: dict[str, ObjectDef]
    stages: list[StageDef] = field(default_factory=list)
    flows: list[RecordTriggeredFlow] = field(default_factory=list)
    """The package's active record-triggered Flows (``sfqb_sandbox.salesforce.flows``)."""

    def __post_init__(self) -> None:
        self._by_lower = {k.lower(): v for k, v in self.objects.items()}

    def object(self, name: str) -> ObjectDef | None:
        """The object with this API name, matched case-insensitively."""
        if len(self._by_lower) != len(self.objects):
            self._by_lower = {k.lower(): v for k, v in self.objects.items()}
        return self._by_lower.get(name.lower())

    def by_key_prefix(self, prefix: str) -> ObjectDef | None:
        return next((o for o in self.objects.values() if o.key_prefix == prefix), None)

    def package_fields(self) -> dict[str, list[str]]:
        """Custom fields per object (the package's fields R-PRE-3 validates)."""
        return {
            o.name: [f.name for f in o.fields.values() if f.custom]
            for o in self.objects.values()
            if any(f.custom for f in o.fields.values())
        }


def default_metadata_root() -> Path:
    """``include/salesforce`` of this checkout; ``SFQB_SALESFORCE_METADATA`` overrides it."""
    env = os.environ.get("SFQB_SALESFORCE_METADATA")
    if env:
        return Path(env)
    return Path(__file__).resolve().parents[2] / "salesforce"


def load_schema(metadata_root: Path | None = None) -> Schema:
    """The whole org schema: standard objects plus the package parsed from the SFDX project.

    Cached per metadata root (parsing takes a few tens of milliseconds); treat the result as
    read-only, or ``copy.deepcopy`` it before changing it.
    """
    root = Path(metadata_root) if metadata_root is not None else default_metadata_root()
    return _load(root.resolve())


@cache
def _load(root: Path) -> Schema:
    from .standard_objects import build_standard_objects

    source = root / "force-app" / "main" / "default"
    if not source.is_dir():
        raise FileNotFoundError(
            f"no SFDX source at {source}: set SFQB_SALESFORCE_METADATA to "
            "the include/salesforce directory of an sfqb checkout"
        )
    stages = parse_stages(
        source / "standardValueSets" / "OpportunityStage.standardValueSet-meta.xml"
    )
    objects = build_standard_objects(stages)
    add_package(objects, source)
    add_stock_layouts(objects, root)
    _link_children(objects)
    flows = load_flows(source)
    for flow in flows:
        for name, fields in (
            (flow.object, [c.field for c in flow.start]),
            (flow.target, [c.field for c in flow.filters] + [f for f, _ in flow.assignments]),
        ):
            obj = objects.get(name)
            unknown = [f for f in fields if obj is None or obj.field(f) is None]
            if unknown:
                raise FlowError(f"{flow.name}: no field {', '.join(unknown)} on {name}")
    return Schema(objects=objects, stages=stages, flows=flows)


# Child relationship names and cascades of standard lookups (custom ones come from the XML).
_STANDARD_CHILDREN: dict[tuple[str, str], tuple[str | None, bool]] = {
    ("Account", "ParentId"): ("ChildAccounts", False),
    ("Contact", "AccountId"): ("Contacts", True),
    ("Contact", "ReportsToId"): (None, False),
    ("Opportunity", "AccountId"): ("Opportunities", True),
    ("Opportunity", "Pricebook2Id"): ("Opportunities", False),
    ("OpportunityLineItem", "OpportunityId"): ("OpportunityLineItems", True),
    ("OpportunityLineItem", "PricebookEntryId"): ("OpportunityLineItems", False),
    ("OpportunityLineItem", "Product2Id"): (None, False),
    ("OpportunityContactRole", "OpportunityId"): ("OpportunityContactRoles", True),
    ("OpportunityContactRole", "ContactId"): ("OpportunityContactRoles", True),
    ("PricebookEntry", "Pricebook2Id"): ("PricebookEntries", True),
    ("PricebookEntry", "Product2Id"): ("PricebookEntries", True),
}


def _link_children(objects: dict[str, ObjectDef]) -> None:
    """Fill each object's childRelationships from every reference field pointing at it."""
    for child in objects.values():
        for f in child.fields.values():
            if f.type != "reference" or f.name in SYSTEM_FIELD_NAMES or f.name == "OwnerId":
                continue
            if f.custom:
                rel, cascade = f.child_relationship_name, f.cascade_delete
            else:
                rel, cascade = _STANDARD_CHILDREN.get((child.name, f.name), (None, False))
            for target in f.reference_to:
                parent = objects.get(target)
                if parent is not None:
                    parent.child_relationships.append(
                        ChildRelationship(child.name, f.name, rel, cascade)
                    )


def _default_layout(obj: ObjectDef) -> LayoutDef:
    """A one-section layout of every non-system field, for objects the package ships none for."""
    names = tuple(
        f.name for f in obj.fields.values() if f.name not in SYSTEM_FIELD_NAMES and f.type != "id"
    )
    return LayoutDef(name=f"{obj.label} Layout", sections=((f"{obj.label} Information", names),))


# ---------------------------------------------------------------- SFDX metadata parsing


def _children(el: ET.Element, tag: str) -> list[ET.Element]:
    return el.findall(MD_NS + tag)


def _text(el: ET.Element, tag: str, default: str | None = None) -> str | None:
    child = el.find(MD_NS + tag)
    return child.text if child is not None and child.text is not None else default


def _bool(el: ET.Element, tag: str, default: bool = False) -> bool:
    value = _text(el, tag)
    return default if value is None else value.strip().lower() == "true"


def _int(el: ET.Element, tag: str, default: int = 0) -> int:
    value = _text(el, tag)
    return default if value is None else int(value)


def parse_stages(path: Path) -> list[StageDef]:
    """The Opportunity stages of ``OpportunityStage.standardValueSet-meta.xml``, in order."""
    if not path.exists():
        return []
    stages = []
    for i, value in enumerate(_children(ET.parse(path).getroot(), "standardValue")):
        name = _text(value, "fullName", "")
        stages.append(
            StageDef(
                name=name,
                label=_text(value, "label", name),
                closed=_bool(value, "closed"),
                won=_bool(value, "won"),
                probability=_int(value, "probability"),
                forecast_category=_text(value, "forecastCategory", "Pipeline"),
                active=_bool(value, "isActive", True),
                sort_order=i + 1,
                default=_bool(value, "default"),
            )
        )
    return stages


def _picklist(el: ET.Element) -> tuple[tuple[str, ...], bool, str | None]:
    value_set = el.find(MD_NS + "valueSet")
    if value_set is None:
        return (), False, None
    definition = value_set.find(MD_NS + "valueSetDefinition")
    values = _children(definition, "value") if definition is not None else []
    names = tuple(_text(v, "fullName", "") for v in values)
    default = next((_text(v, "fullName") for v in values if _bool(v, "default")), None)
    return names, _bool(value_set, "restricted"), default


def parse_custom_field(el: ET.Element, object_name: str) -> FieldDef:
    """A CustomField element (SFDX ``.field-meta.xml`` or a ``nameField``) as a FieldDef.

    Maps Metadata API field types to the describe types (api-notes 3.8): Text -> string,
    Number -> double (custom numbers are doubles even with scale 0), MasterDetail -> reference
    that is required and cascades, Checkbox -> boolean defaulted on create, and so on.
    """
    name = _text(el, "fullName", "")
    kind = _text(el, "type", "Text")
    label = _text(el, "label", name)
    required = _bool(el, "required")
    external = _bool(el, "externalId")
    kw: dict = {
        "name": name,
        "label": label,
        "custom": name.endswith("__c"),
        "nillable": not required,
        "external_id": external,
        "unique": _bool(el, "unique"),
        "case_sensitive": _bool(el, "caseSensitive"),
        "id_lookup": external,
        "inline_help_text": _text(el, "inlineHelpText"),
    }
    if kind == "Text":
        kw.update(type="string", length=_int(el, "length", 255))
    elif kind == "TextArea":
        kw.update(type="textarea", length=255, extra_type_info="plaintextarea")
    elif kind in ("LongTextArea", "Html"):
        kw.update(
            type="textarea",
            length=_int(el, "length", 32768),
            filterable=False,
            sortable=False,
            extra_type_info="richtextarea" if kind == "Html" else "plaintextarea",
        )
    elif kind == "Checkbox":
        default = (_text(el, "defaultValue", "false") or "false").strip().lower() == "true"
        kw.update(type="boolean", nillable=False, defaulted_on_create=True, default_value=default)
    elif kind in ("Currency", "Number", "Percent"):
        kw.update(
            type={"Currency": "currency", "Number": "double", "Percent": "percent"}[kind],
            precision=_int(el, "precision", 18),
            scale=_int(el, "scale", 0),
        )
    elif kind in ("Date", "DateTime"):
        kw.update(type=kind.lower())
    elif kind in ("Email", "Phone", "Url"):
        kw.update(type=kind.lower(), length={"Email": 80, "Phone": 40, "Url": 255}[kind])
    elif kind in ("Picklist", "MultiselectPicklist"):
        values, restricted, default = _picklist(el)
        kw.update(
            type="picklist" if kind == "Picklist" else "multipicklist",
            length=255,
            picklist_values=values,
            restricted_picklist=restricted,
            picklist_default=default,
            default_value=default,
            defaulted_on_create=default is not None,
        )
    elif kind in ("Lookup", "MasterDetail"):
        rel = _text(el, "relationshipName")
        kw.update(
            type="reference",
            length=18,
            reference_to=(_text(el, "referenceTo", ""),),
            relationship_name=name[:-3] + "__r" if name.endswith("__c") else name,
            child_relationship_name=f"{rel}__r" if rel else None,
        )
        if kind == "MasterDetail":
            kw.update(
                nillable=False,
                updateable=_bool(el, "reparentableMasterDetail"),
                cascade_delete=True,
                relationship_order=_int(el, "relationshipOrder"),
            )
    elif kind == "AutoNumber":
        kw.update(
            type="string",
            length=30,
            auto_number=True,
            createable=False,
            updateable=False,
            nillable=False,
            defaulted_on_create=True,
            display_format=_text(el, "displayFormat"),
        )
    else:
        raise ValueError(f"{object_name}.{name}: field type {kind} is not supported")
    return FieldDef(**kw)


def _custom_object(path: Path, name: str) -> ObjectDef:
    """A package custom object with its standard fields (Id, Name, OwnerId, system fields)."""
    from .standard_objects import owner_field, system_fields

    root = ET.parse(path).getroot()
    name_el = root.find(MD_NS + "nameField")
    fields = {f.name: f for f in system_fields()}
    if name_el is not None:
        name_def = parse_custom_field(name_el, name)
        kw = {
            "name": "Name",
            "custom": False,
            "name_field": True,
            "id_lookup": False,
            "length": name_def.length if name_def.auto_number else 80,
        }
        if not name_def.auto_number:  # a Text name defaults to the record id when omitted
            kw.update(nillable=False, defaulted_on_create=True)
        fields["Name"] = _replace(name_def, **kw)
    if _text(root, "sharingModel") != "ControlledByParent":
        fields["OwnerId"] = owner_field()
    prefix = CUSTOM_KEY_PREFIXES.get(name) or _fallback_prefix(name)
    return ObjectDef(
        name=name,
        label=_text(root, "label", name),
        label_plural=_text(root, "pluralLabel", name),
        key_prefix=prefix,
        custom=True,
        fields=fields,
    )


def _fallback_prefix(name: str) -> str:
    """A stable a0? prefix for a custom object missing from CUSTOM_KEY_PREFIXES."""
    alphabet = "LMNOPQRSTUVWXYZ"
    return "a0" + alphabet[sum(map(ord, name)) % len(alphabet)]


def _replace(f: FieldDef, **changes) -> FieldDef:
    from dataclasses import replace

    return replace(f, **changes)


def parse_layout(path: Path) -> tuple[str, LayoutDef]:
    """(object name, LayoutDef) of an SFDX ``Object-Layout Name.layout-meta.xml`` file."""
    return layout_from_xml(path.name, path.read_text(encoding="utf-8"))


def layout_from_xml(file_name: str, text: str) -> tuple[str, LayoutDef]:
    """(object name, LayoutDef) of a layout file's text; ``file_name`` gives the object and the
    layout's name. A Custom Links section holds links, not fields: describe shows no section
    for it."""
    stem = file_name.removesuffix(".layout-meta.xml")
    object_name, _, layout_name = stem.partition("-")
    root = ET.fromstring(text)
    sections, columns, behaviors = [], [], []
    for section in _children(root, "layoutSections"):
        if _text(section, "style") == "CustomLinks":
            continue
        cols = []
        for column in _children(section, "layoutColumns"):
            names = []
            for item in _children(column, "layoutItems"):
                field_name = _text(item, "field")
                if field_name:
                    names.append(field_name)
                    behaviors.append((field_name, _text(item, "behavior", "Edit")))
            cols.append(tuple(names))
        sections.append((_text(section, "label", ""), tuple(n for c in cols for n in c)))
        columns.append(tuple(cols))
    related = tuple(_text(r, "relatedList", "") for r in _children(root, "relatedLists"))
    return object_name, LayoutDef(
        name=layout_name,
        sections=tuple(sections),
        columns=tuple(columns),
        behaviors=tuple(behaviors),
        related_lists=related,
    )


def add_package(objects: dict[str, ObjectDef], source: Path) -> None:
    """Add the SFDX project's custom objects, custom fields and layouts to ``objects``."""
    objects_dir = source / "objects"
    for obj_dir in sorted(p for p in objects_dir.glob("*") if p.is_dir()):
        meta = obj_dir / f"{obj_dir.name}.object-meta.xml"
        if obj_dir.name not in objects and meta.exists():
            objects[obj_dir.name] = _custom_object(meta, obj_dir.name)
        obj = objects.get(obj_dir.name)
        if obj is None:
            continue
        for path in sorted((obj_dir / "fields").glob("*.field-meta.xml")):
            f = parse_custom_field(ET.parse(path).getroot(), obj.name)
            obj.fields[f.name] = f
        obj.__post_init__()
        for path in sorted((obj_dir / "validationRules").glob("*.validationRule-meta.xml")):
            rule = parse_validation_rule(path)
            if rule is not None:
                obj.validation_rules.append(rule)
    for path in sorted((source / "layouts").glob("*.layout-meta.xml")):
        object_name, layout = parse_layout(path)
        if object_name in objects:
            objects[object_name].layouts.append(layout)


def add_stock_layouts(objects: dict[str, ObjectDef], metadata_root: Path) -> None:
    """Give the standard objects the layouts a real org has (``stock_layouts/``: a fresh
    Developer Edition org's, with their related lists), each with the package's additions
    (``layout-additions/`` beside ``force-app``) merged in by the product's own
    ``sfqb.checks.layouts.add_to_layout``: the org an admin has after `python -m sfqb
    salesforce layouts` and a deploy (R-OPS-6). The package ships no standard-object layout;
    a layout of the same name in the SFDX source (an org's retrieved metadata) wins."""
    from sfqb.checks.layouts import add_to_layout, layout_object, read_additions

    additions_dir = metadata_root / "layout-additions"
    additions = read_additions(additions_dir) if additions_dir.is_dir() else {}
    for path in sorted(STOCK_LAYOUTS.glob("*.layout-meta.xml")):
        obj = objects.get(layout_object(path.name))
        if obj is None:
            continue
        text = path.read_text(encoding="utf-8")
        if obj.name in additions:
            text = add_to_layout(text, additions[obj.name], path.name, str(path)).text
        _, layout = layout_from_xml(path.name, text)
        if all(known.name != layout.name for known in obj.layouts):
            obj.layouts.append(layout)


def parse_validation_rule(path: Path) -> ValidationRuleDef | None:
    """An active validation rule file as the org applies it; None for an inactive one. A
    formula the sandbox cannot evaluate fails the load, naming the file."""
    el = ET.parse(path).getroot()
    if not _bool(el, "active"):
        return None
    formula = _text(el, "errorConditionFormula") or ""
    try:
        refuses = compile_formula(formula)
    except FormulaError as exc:
        raise FormulaError(f"{path.name}: {exc}") from None
    return ValidationRuleDef(
        name=_text(el, "fullName") or path.name.split(".")[0],
        refuses=refuses,
        message=_text(el, "errorMessage") or "",
        field=_text(el, "errorDisplayField"),
    )
