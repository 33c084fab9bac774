"""The org: records plus the write rules that bite real integrations.

``Org.create/update/upsert/delete`` validate a write the way Salesforce does (unknown and
read-only fields, types, lengths, restricted picklists, required fields, unique external ids,
lookups that must exist) and then apply the object rules of api-notes 3.11 (stages, price books,
line items, primary contact roles, the package's one billing contact per account). Every
change goes through ``_save`` so a sObject Collections call with allOrNone can roll back and
the request can write its changes through to SQLite once at the end (``flush``).
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from contextlib import contextmanager
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from .errors import SFError, not_found
from .ids import to18
from .soql import ID_TYPES, NUMBER_TYPES, TEXT_TYPES, Engine, format_datetime, parse_datetime
from .store import Store

SYSTEM_FIELDS = (
    "Id",
    "IsDeleted",
    "CreatedDate",
    "CreatedById",
    "LastModifiedDate",
    "LastModifiedById",
    "SystemModstamp",
)
_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")

# Currency fields keep 2 decimals; Salesforce rounds half up (12.345 -> 12.35).
CENT = Decimal("0.01")


def integrity(message: str, fields: list[str] | None = None) -> SFError:
    return SFError("FIELD_INTEGRITY_EXCEPTION", f"field integrity exception: {message}", fields)


def parser_error(value, type_name: str) -> SFError:
    return SFError(
        "JSON_PARSER_ERROR",
        f"Cannot deserialize instance of {type_name} from VALUE_STRING value {value} or request "
        "may be missing a required field",
    )


def _loose_equal(value, expected) -> bool:
    if isinstance(value, str) and isinstance(expected, str):
        return value.lower() == expected.lower()
    return value == expected


def _same_field(obj, key: str, f) -> bool:
    found = obj.field(key)
    return found is not None and found.name == f.name


def _atomic(method):
    """Make an Org write all-or-nothing for the single record (and what its rules touched)."""

    @functools.wraps(method)
    def wrapper(self, *args, **kwargs):
        with self.atomic():
            return method(self, *args, **kwargs)

    return wrapper


class Org:
    def __init__(self, schema, store: Store, clock, api_version: str = "59.0") -> None:
        self.schema = schema
        self.store = store
        self.clock = clock
        self.engine = Engine(schema, store, self.today, api_version)
        self._dirty: dict[str, tuple[str, dict]] = {}
        self._undo: list | None = None

    # time and identity
    def now(self) -> str:
        return format_datetime(self.clock.now())

    def today(self) -> dt.date:
        return self.clock.now().date()

    @property
    def user_id(self) -> str:
        return self.store.meta.get("user_id", "")

    # bookkeeping
    def _save(self, sobject: str, record: dict, *, new: bool = False) -> None:
        if self._undo is not None:
            before = None if new else dict(self.store.get(sobject, record["Id"]) or {}) or None
            self._undo.append((sobject, record["Id"], before))
        self.store.put(sobject, record)
        self._dirty[record["Id"]] = (sobject, record)

    @contextmanager
    def transaction(self):
        """Collect undo information; ``rollback`` restores every record touched inside."""
        outer = self._undo is not None
        if not outer:
            self._undo = []
        try:
            yield
        finally:
            if not outer:
                self._undo = None

    @contextmanager
    def atomic(self):
        """One write: on an error, undo whatever it changed so far (like a savepoint)."""
        with self.transaction():
            mark = len(self._undo)
            try:
                yield
            except SFError:
                self._rollback_to(mark)
                raise

    def rollback(self) -> None:
        self._rollback_to(0)

    def _rollback_to(self, mark: int) -> None:
        undo = self._undo or []
        while len(undo) > mark:
            sobject, record_id, before = undo.pop()
            if before is None:
                self.store.pop(sobject, record_id)
                self._dirty.pop(record_id, None)
            else:
                self.store.put(sobject, before)
                self._dirty[record_id] = (sobject, before)

    def flush(self) -> int:
        """Write the request's changes through to SQLite; return how many records changed."""
        dirty = list(self._dirty.values())
        self._dirty.clear()
        self.store.persist(dirty)
        return len(dirty)

    # lookups
    def obj(self, name: str):
        obj = self.schema.object(name)
        if obj is None:
            raise SFError(
                "NOT_FOUND",
                f"The requested resource does not exist: sObject type '{name}' is not supported.",
                status=404,
            )
        return obj

    def record(self, sobject: str, record_id: str, *, deleted_ok: bool = False) -> dict:
        full = to18(record_id)
        if full is None:
            raise SFError(
                "MALFORMED_ID",
                f"{sobject} ID: id value of incorrect type: {record_id}",
                status=400 if not record_id else 404,
            )
        rec = self.store.get(sobject, full)
        if rec is None:
            raise not_found()
        if rec.get("IsDeleted") and not deleted_ok:
            raise SFError("ENTITY_IS_DELETED", "entity is deleted", status=404)
        return rec

    def find_by(self, sobject: str, field_name: str, value) -> list[dict]:
        f = self.obj(sobject).field(field_name)
        fold = f.type in TEXT_TYPES and not f.case_sensitive
        return [
            r
            for r in self.store.lookup(self.obj(sobject).name, f.name, value, fold)
            if not r.get("IsDeleted")
        ]

    def children(self, sobject: str, field_name: str, parent_id: str) -> list[dict]:
        return [
            r for r in self.store.lookup(sobject, field_name, parent_id) if not r.get("IsDeleted")
        ]

    def standard_pricebook(self) -> dict | None:
        for rec in self.store.table("Pricebook2").values():
            if rec.get("IsStandard") and not rec.get("IsDeleted"):
                return rec
        return None

    # value checks
    def coerce(self, obj, f, value, *, csv: bool = False):
        """The wire value Salesforce would store for ``value`` in field ``f``."""
        if value is None:
            return None
        ftype = f.type
        if csv and isinstance(value, str):
            value = self.from_csv(f, value)
            if value is None:
                return None
        if ftype in TEXT_TYPES:
            if isinstance(value, bool) or not isinstance(value, str | int | float):
                raise parser_error(value, "String")
            value = str(value)
            if f.length and len(value) > f.length:
                raise SFError(
                    "STRING_TOO_LONG",
                    f"{f.label or f.name}: data value too large: "
                    f"{value[:40]} (max length={f.length})",
                    [f.name],
                )
            if ftype == "picklist" and f.restricted_picklist and value not in f.picklist_values:
                raise SFError(
                    "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
                    f"{f.label or f.name}: bad value for restricted picklist field: {value}",
                    [f.name],
                )
            if ftype == "email" and value and not re.match(r"^[^@\s]+@[^@\s]+\.[^@\s]+$", value):
                raise SFError(
                    "INVALID_EMAIL_ADDRESS",
                    f"{f.label or f.name}: invalid email address: {value}",
                    [f.name],
                )
            return value
        if ftype in ID_TYPES:
            full = to18(value) if isinstance(value, str) else None
            if full is None:
                raise SFError(
                    "MALFORMED_ID",
                    f"{f.label or f.name}: id value of incorrect type: {value}",
                    [f.name],
                )
            if ftype == "reference":
                self.check_reference(f, full)
            return full
        if ftype == "boolean":
            if not isinstance(value, bool):
                raise parser_error(value, "boolean")
            return value
        if ftype in NUMBER_TYPES:
            if isinstance(value, bool):
                raise parser_error(value, "double")
            try:
                number = Decimal(str(value))
            except InvalidOperation:
                raise parser_error(value, "double") from None
            if ftype == "int":
                return int(number)
            if f.scale:
                number = number.quantize(Decimal(1).scaleb(-f.scale), rounding=ROUND_HALF_UP)
            if f.precision and abs(number) >= Decimal(10) ** (f.precision - (f.scale or 0)):
                raise SFError(
                    "NUMBER_OUTSIDE_VALID_RANGE",
                    f"{f.label or f.name}: value outside of valid range on numeric field: {value}",
                    [f.name],
                )
            return float(number)
        if ftype == "date":
            if not isinstance(value, str):
                raise parser_error(value, "date")
            day = value[:10]
            try:
                dt.date.fromisoformat(day)
            except ValueError:
                raise parser_error(value, "date") from None
            if not _DATE_RE.match(day):
                raise parser_error(value, "date")
            return day
        if ftype == "datetime":
            if not isinstance(value, str):
                raise parser_error(value, "datetime")
            try:
                return format_datetime(parse_datetime(value))
            except SFError:
                raise parser_error(value, "datetime") from None
        return value

    @staticmethod
    def from_csv(f, text: str):
        """Bulk CSV cells: empty means 'not given' (handled by the caller), #N/A means null."""
        if text == "#N/A":
            return None
        if f.type == "boolean":
            low = text.lower()
            if low in ("true", "1", "yes"):
                return True
            if low in ("false", "0", "no", ""):
                return False
            raise parser_error(text, "boolean")
        if f.type in NUMBER_TYPES:
            return text
        return text

    def check_reference(self, f, full: str) -> None:
        found = None
        for target in f.reference_to or ():
            found = self.store.get(target, full)
            if found is not None:
                break
        if found is None:
            if self.store.find(full) is not None:
                raise SFError(
                    "FIELD_INTEGRITY_EXCEPTION",
                    f"{f.label or f.name}: id value of incorrect type: {full}",
                    [f.name],
                )
            raise SFError("INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id", [f.name])
        if found.get("IsDeleted"):
            raise SFError("ENTITY_IS_DELETED", "entity is deleted", [f.name])

    def prepare(
        self, obj, body: dict, *, creating: bool, csv: bool = False, allowed_ext: str | None = None
    ) -> dict:
        """Validate a field map; return the canonical changes."""
        changes: dict = {}
        for key, value in body.items():
            if key == "attributes":
                continue
            f = obj.field(key)
            if f is None and isinstance(value, dict):
                f, value = self.reference_by_external_id(obj, key, value)
            if f is None:
                raise SFError(
                    "INVALID_FIELD", f"No such column '{key}' on sobject of type {obj.name}"
                )
            if f.name == allowed_ext:
                continue
            if creating and not f.createable or not creating and not f.updateable:
                raise SFError(
                    "INVALID_FIELD_FOR_INSERT_UPDATE",
                    f"Unable to create/update fields: {f.name}. Please check the "
                    "security settings of this field and verify that it is read/write "
                    "for your profile or permission set.",
                    [f.name],
                )
            if csv and value == "":
                continue
            coerced = self.coerce(obj, f, value, csv=csv)
            if coerced is None and not f.nillable and f.type != "boolean":
                raise SFError(
                    "REQUIRED_FIELD_MISSING", f"Required fields are missing: [{f.name}]", [f.name]
                )
            if coerced is None and f.type == "boolean":
                coerced = False
            changes[f.name] = coerced
        return changes

    def check_validation_rules(self, obj, rec: dict, before: dict | None = None) -> None:
        """The org's validation rules: the package's (its ``validationRules`` files, formulas
        that see the record and what it was before the save: ``before`` None on a create),
        then those set through ``POST /_sandbox/validation-rules`` (a rule rejects a saved
        record whose fields equal all of its ``when`` values)."""
        for package_rule in obj.validation_rules:
            if package_rule.refuses(rec, before):
                fields = [package_rule.field] if package_rule.field else []
                raise SFError("FIELD_CUSTOM_VALIDATION_EXCEPTION", package_rule.message, fields)
        for rule in self.store.meta.get("validation_rules", []):
            if rule["object"].lower() != obj.name.lower():
                continue
            if all(_loose_equal(rec.get(k), v) for k, v in rule["when"].items()):
                fields = [rule["field"]] if rule.get("field") else []
                raise SFError("FIELD_CUSTOM_VALIDATION_EXCEPTION", rule["message"], fields)

    def run_flows(self, obj, rec: dict, before: dict | None) -> None:
        """The package's after-save Flows that ``rec``'s save triggers (``before`` None on a
        create), unless the admin surface deactivated them: each Update Records element
        updates the records its filters find, through the org's rules like any save."""
        inactive = set(self.store.meta.get("inactive_flows", []))
        for flow in self.schema.flows:
            if flow.name in inactive or flow.object.lower() != obj.name.lower():
                continue
            if not flow.triggered_by(rec, before):
                continue
            target = self.obj(flow.target)
            pinned = flow.narrowing(rec)
            rows = (
                self.store.lookup(target.name, pinned[0], pinned[1])
                if pinned
                else self.store.table(target.name).values()
            )
            candidates = [r for r in rows if not r.get("IsDeleted")]
            for record_id, changes in flow.updates(rec, candidates):
                current = self.record(target.name, record_id)
                self.apply_update(target, current, dict(changes))

    def reference_by_external_id(self, obj, rel_name: str, ref: dict):
        """``"Parent": {"Ext__c": "v"}`` in a body: the lookup field and the Id it names."""
        f = next(
            (
                f
                for f in obj.fields.values()
                if f.type == "reference"
                and f.relationship_name
                and f.relationship_name.lower() == rel_name.lower()
            ),
            None,
        )
        if f is None:
            return None, ref
        target_name = (ref.get("attributes") or {}).get("type") or (f.reference_to or ("",))[0]
        target = self.obj(target_name)
        keys = [k for k in ref if k != "attributes"]
        if len(keys) != 1:
            raise SFError(
                "INVALID_FIELD",
                f"A reference to {target.name} through {rel_name} "
                "must name exactly one external ID field",
                [f.name],
            )
        ext = target.field(keys[0])
        if ext is None or not ext.external_id:
            raise SFError(
                "INVALID_FIELD",
                f"Field name provided, {keys[0]} is not an External "
                f"ID or indexed field for {target.name}",
                [f.name],
            )
        value = ref[keys[0]]
        matches = self.find_by(target.name, ext.name, value)
        if not matches:
            raise SFError(
                "INVALID_FIELD",
                f"Foreign key external ID: {value} not found for "
                f"field {ext.name} in entity {target.name}",
                [f.name],
            )
        if len(matches) > 1:
            raise SFError(
                "INVALID_FIELD",
                f"More than 1 record found for external id field: {ext.name} with value: {value}",
                [f.name],
            )
        return f, matches[0]["Id"]

    def check_unique(self, obj, rec: dict, changes: dict) -> None:
        for name, value in changes.items():
            f = obj.fields[name]
            if not f.unique or value is None:
                continue
            for other in self.find_by(obj.name, name, value):
                if other["Id"] != rec.get("Id"):
                    raise SFError(
                        "DUPLICATE_VALUE",
                        f"duplicate value found: {name} duplicates "
                        f"value on record with id: {other['Id']}",
                        [name],
                    )

    # writes
    @_atomic
    def create(self, sobject: str, body: dict, *, csv: bool = False) -> str:
        obj = self.obj(sobject)
        changes = self.prepare(obj, body, creating=True, csv=csv)
        now = self.now()
        rec: dict = {}
        for f in obj.fields.values():
            if f.type == "boolean":
                rec[f.name] = bool(f.default_value) if f.default_value is not None else False
            elif (
                f.defaulted_on_create
                and f.default_value is not None
                and f.name not in SYSTEM_FIELDS
            ):
                rec[f.name] = f.default_value
        if obj.field("OwnerId") is not None:
            rec["OwnerId"] = self.user_id
        rec.update(changes)
        missing = [
            f.name
            for f in obj.required_on_create()
            if rec.get(f.name) is None and f.name not in SYSTEM_FIELDS and f.name not in _DERIVED
        ]
        if missing:
            raise SFError(
                "REQUIRED_FIELD_MISSING",
                f"Required fields are missing: [{', '.join(missing)}]",
                missing,
            )
        self.check_unique(obj, rec, changes)
        rec.update(
            Id=self.store.new_id(obj.key_prefix),
            IsDeleted=False,
            CreatedDate=now,
            CreatedById=self.user_id,
            LastModifiedDate=now,
            LastModifiedById=self.user_id,
            SystemModstamp=now,
        )
        for f in obj.fields.values():
            if f.auto_number:
                rec[f.name] = self.next_auto_number(obj.name, f)
            elif f.name_field and obj.custom and f.defaulted_on_create and not rec.get(f.name):
                rec[f.name] = rec["Id"]  # a custom object's text Name defaults to the Id
        rules = _RULES.get(obj.name)
        if rules:
            rules(self, rec, None, changes)
        self.check_validation_rules(obj, rec)
        self._save(obj.name, rec, new=True)
        after = _AFTER.get(obj.name)
        if after:
            after(self, rec, None)
        self.run_flows(obj, rec, None)
        return rec["Id"]

    def next_auto_number(self, sobject: str, f) -> str:
        """``II-{0000000}`` -> ``II-0000001``: a per-field counter kept with the org's meta."""
        counters = self.store.meta.setdefault("auto_numbers", {})
        key = f"{sobject}.{f.name}"
        counters[key] = counters.get(key, 0) + 1
        fmt = getattr(f, "display_format", None) or "{0}"
        return re.sub(r"\{(0+)\}", lambda m: str(counters[key]).zfill(len(m.group(1))), fmt)

    @_atomic
    def update(self, sobject: str, record_id: str, body: dict, *, csv: bool = False) -> str:
        obj = self.obj(sobject)
        current = self.record(obj.name, record_id)
        changes = self.prepare(obj, body, creating=False, csv=csv)
        self.apply_update(obj, current, changes)
        return current["Id"]

    def apply_update(self, obj, current: dict, changes: dict) -> None:
        self.check_unique(obj, current, changes)
        rec = dict(current)
        rec.update(changes)
        now = self.now()
        rec.update(LastModifiedDate=now, LastModifiedById=self.user_id, SystemModstamp=now)
        rules = _RULES.get(obj.name)
        if rules:
            rules(self, rec, current, changes)
        self.check_validation_rules(obj, rec, current)
        self._save(obj.name, rec)
        after = _AFTER.get(obj.name)
        if after:
            after(self, rec, current)
        self.run_flows(obj, rec, current)

    @_atomic
    def upsert(
        self,
        sobject: str,
        ext_field: str,
        value,
        body: dict,
        *,
        csv: bool = False,
        url_value: bool = True,
    ) -> tuple[str, bool]:
        """Create or update by external id; return (id, created)."""
        obj = self.obj(sobject)
        f = obj.field(ext_field)
        if f is None:
            raise SFError(
                "NOT_FOUND",
                f"Provided external ID field does not exist or is not accessible: {ext_field}",
                status=404,
            )
        if f.name != "Id" and not f.external_id:
            raise SFError(
                "INVALID_FIELD",
                f"Field {f.name} is not an external id field or is not indexed",
                [f.name],
            )
        if url_value:
            for key in body:
                bf = obj.field(key)
                if bf is not None and bf.name == f.name:
                    raise SFError(
                        "INVALID_FIELD",
                        f"The field {f.name} is specified in the URL "
                        "and must not be in the request body",
                        [f.name],
                    )
        if f.name == "Id":
            matches = [self.record(obj.name, value)] if value else []
        else:
            matches = self.find_by(obj.name, f.name, value) if value not in (None, "") else []
        if len(matches) > 1:
            raise SFError(
                "MULTIPLE_CHOICES", f"{len(matches)} records match {f.name} = {value}", status=300
            )
        if matches:
            data = {k: v for k, v in body.items() if not _same_field(obj, k, f)}
            changes = self.prepare(obj, data, creating=False, csv=csv)
            self.apply_update(obj, matches[0], changes)
            return matches[0]["Id"], False
        data = dict(body)
        if f.name != "Id":
            data = {k: v for k, v in body.items() if not _same_field(obj, k, f)}
            data[f.name] = value
        return self.create(obj.name, data, csv=csv), True

    @_atomic
    def delete(self, sobject: str, record_id: str) -> None:
        obj = self.obj(sobject)
        rec = self.record(obj.name, record_id)
        check = _DELETE_CHECKS.get(obj.name)
        if check:
            check(self, rec)
        self._soft_delete(obj, rec)

    def _soft_delete(self, obj, rec: dict) -> None:
        now = self.now()
        new = dict(rec, IsDeleted=True, SystemModstamp=now, LastModifiedDate=now, _deleted_at=now)
        self._save(obj.name, new)
        for child in obj.child_relationships:
            if not (child.cascade_delete or (obj.name, child.child_sobject) in _CASCADES):
                continue
            child_obj = self.schema.object(child.child_sobject)
            if child_obj is None:
                continue
            for c in self.children(child_obj.name, child.field, rec["Id"]):
                self._soft_delete(child_obj, c)
        after = _AFTER_DELETE.get(obj.name)
        if after:
            after(self, new)

    def hard_delete(self, sobject: str, record_id: str) -> None:
        """Remove a (soft-deleted) record for good: memory and SQLite, no recycle bin."""
        self._dirty.pop(record_id, None)
        self.store.remove(sobject, record_id)

    def bump_modstamp(self, sobject: str, record_id: str) -> str:
        rec = dict(self.record(self.obj(sobject).name, record_id))
        rec["SystemModstamp"] = self.now()
        self._save(self.obj(sobject).name, rec)
        return rec["SystemModstamp"]


# --- object rules -------------------------------------------------------------------------

_DERIVED = {"Name"}  # computed for Contact/User/PricebookEntry/OLI; checked per object below
_CASCADES = {("Account", "Contact"), ("Account", "Opportunity")}


def _name_required(rec: dict, field_name: str = "Name") -> None:
    if not rec.get(field_name):
        raise SFError(
            "REQUIRED_FIELD_MISSING", f"Required fields are missing: [{field_name}]", [field_name]
        )


def _account(org: Org, rec: dict, before: dict | None, changes: dict) -> None:
    _name_required(rec)
    if rec.get("ParentId") == rec["Id"]:
        raise integrity("ParentId (parent account cannot be the account itself)", ["ParentId"])


def _person(org: Org, rec: dict, before: dict | None, changes: dict) -> None:
    if not rec.get("LastName"):
        raise SFError(
            "REQUIRED_FIELD_MISSING", "Required fields are missing: [LastName]", ["LastName"]
        )
    rec["Name"] = " ".join(p for p in (rec.get("FirstName"), rec["LastName"]) if p)


def _stage(org: Org, name: str | None) -> dict | None:
    for stage in org.store.table("OpportunityStage").values():
        if stage.get("ApiName") == name or stage.get("MasterLabel") == name:
            return stage
    return None


def _opportunity(org: Org, rec: dict, before: dict | None, changes: dict) -> None:
    _name_required(rec)
    stage = _stage(org, rec.get("StageName"))
    if stage is None or not stage.get("IsActive", True):
        raise SFError(
            "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
            f"Stage: bad value for restricted picklist field: {rec.get('StageName')}",
            ["StageName"],
        )
    rec["IsClosed"] = bool(stage.get("IsClosed"))
    rec["IsWon"] = bool(stage.get("IsWon"))
    fields = org.obj("Opportunity").fields
    if "ForecastCategoryName" in fields and (
        "ForecastCategoryName" not in changes and (before is None or "StageName" in changes)
    ):
        rec["ForecastCategoryName"] = stage.get("ForecastCategoryName")
    if "Probability" in (org.obj("Opportunity").fields) and (
        before is None
        and "Probability" not in changes
        or before is not None
        and "StageName" in changes
        and "Probability" not in changes
    ):
        rec["Probability"] = stage.get("DefaultProbability")
    lines = _lines(org, rec["Id"]) if before is not None else []
    if (
        lines
        and "Pricebook2Id" in changes
        and changes["Pricebook2Id"] != before.get("Pricebook2Id")
    ):
        raise integrity(
            "Pricebook2Id (cannot change pricebook on opportunity with line items)",
            ["Pricebook2Id"],
        )
    if lines and "Amount" in changes and before is not None:
        raise integrity(
            "Amount (amount may not be changed when line items are present)", ["Amount"]
        )
    rec["HasOpportunityLineItem"] = bool(lines)
    _expected_revenue(rec)


def _expected_revenue(rec: dict) -> None:
    """The formula field ExpectedRevenue = Amount x Probability / 100."""
    amount, probability = rec.get("Amount"), rec.get("Probability")
    rec["ExpectedRevenue"] = (
        float(
            (Decimal(str(amount)) * Decimal(str(probability)) / 100).quantize(CENT, ROUND_HALF_UP)
        )
        if amount is not None and probability is not None
        else None
    )


def _lines(org: Org, opp_id: str) -> list[dict]:
    return org.children("OpportunityLineItem", "OpportunityId", opp_id)


def _recompute_opportunity(org: Org, opp_id: str) -> None:
    opp = org.store.get("Opportunity", opp_id)
    if opp is None or opp.get("IsDeleted"):
        return
    lines = _lines(org, opp_id)
    total = sum((Decimal(str(r.get("TotalPrice") or 0)) for r in lines), Decimal(0))
    new = dict(opp, HasOpportunityLineItem=bool(lines))
    if lines:
        new["Amount"] = float(total)
        _expected_revenue(new)
    if new != opp:
        now = org.now()
        new.update(SystemModstamp=now)
        org._save("Opportunity", new)


def _pricebook(org: Org, rec: dict, before: dict | None, changes: dict) -> None:
    _name_required(rec)
    if before is None:
        rec["IsStandard"] = False


def _pricebook_entry(org: Org, rec: dict, before: dict | None, changes: dict) -> None:
    book = org.store.get("Pricebook2", rec["Pricebook2Id"])
    product = org.store.get("Product2", rec["Product2Id"])
    if book.get("IsStandard") and not book.get("IsActive"):
        raise integrity("Pricebook2Id (the standard price book is inactive)", ["Pricebook2Id"])
    if rec.get("UseStandardPrice"):
        if book.get("IsStandard"):
            raise integrity(
                "UseStandardPrice (standard price book entries cannot use the standard price)",
                ["UseStandardPrice"],
            )
        if "UnitPrice" in changes and changes["UnitPrice"] is not None:
            raise integrity(
                "UnitPrice (cannot set a unit price while UseStandardPrice is true)", ["UnitPrice"]
            )
    elif rec.get("UnitPrice") is None:
        raise SFError(
            "REQUIRED_FIELD_MISSING", "Required fields are missing: [UnitPrice]", ["UnitPrice"]
        )
    if before is None:
        for other in org.children("PricebookEntry", "Product2Id", rec["Product2Id"]):
            if other.get("Pricebook2Id") == rec["Pricebook2Id"]:
                raise SFError(
                    "DUPLICATE_VALUE",
                    "This price definition already exists in this "
                    f"price book: duplicate value found: Product2Id duplicates value on "
                    f"record with id: {other['Id']}",
                    ["Product2Id"],
                )
        if not book.get("IsStandard"):
            standard = org.standard_pricebook()
            has_standard = standard is not None and any(
                e.get("Pricebook2Id") == standard["Id"]
                for e in org.children("PricebookEntry", "Product2Id", rec["Product2Id"])
            )
            if not has_standard:
                raise SFError(
                    "STANDARD_PRICE_NOT_DEFINED", "No standard price defined for this product", []
                )
    if rec.get("UseStandardPrice"):
        standard = org.standard_pricebook()
        for e in org.children("PricebookEntry", "Product2Id", rec["Product2Id"]):
            if e.get("Pricebook2Id") == standard["Id"]:
                rec["UnitPrice"] = e.get("UnitPrice")
    rec["Name"] = product.get("Name")
    rec["ProductCode"] = product.get("ProductCode")


def _line_item(org: Org, rec: dict, before: dict | None, changes: dict) -> None:
    if before is None and not rec.get("PricebookEntryId"):
        raise integrity(
            "PricebookEntryId, unknown (versions 3.0 and higher must specify "
            "pricebook entry id, others must specify product id)",
            ["PricebookEntryId"],
        )
    entry = org.store.get("PricebookEntry", rec["PricebookEntryId"])
    opp = org.store.get("Opportunity", rec["OpportunityId"])
    book = org.store.get("Pricebook2", entry["Pricebook2Id"])
    quantity = rec.get("Quantity")
    if quantity is None or quantity == 0:
        raise integrity("Quantity (quantity must be nonzero)", ["Quantity"])
    if before is None:
        if not entry.get("IsActive"):
            raise integrity("PricebookEntryId (pricebook entry is inactive)", ["PricebookEntryId"])
        if book is None or not book.get("IsActive"):
            raise integrity(
                "PricebookEntryId (pricebook entry is in an inactive pricebook)",
                ["PricebookEntryId"],
            )
        if opp.get("Pricebook2Id") and opp["Pricebook2Id"] != entry["Pricebook2Id"]:
            raise integrity(
                "PricebookEntryId (pricebook entry is in a different pricebook than "
                "the one assigned to the opportunity)",
                ["PricebookEntryId"],
            )
        if not opp.get("Pricebook2Id"):
            now = org.now()
            org._save(
                "Opportunity",
                dict(
                    opp,
                    Pricebook2Id=entry["Pricebook2Id"],
                    LastModifiedDate=now,
                    SystemModstamp=now,
                ),
            )
    unit_given = changes.get("UnitPrice") is not None
    total_given = changes.get("TotalPrice") is not None
    if unit_given and total_given:
        raise integrity(
            "TotalPrice (you cannot specify both unit price and total price)", ["TotalPrice"]
        )
    qty = Decimal(str(quantity))
    if total_given:
        rec["UnitPrice"] = float(
            (Decimal(str(rec["TotalPrice"])) / qty).quantize(CENT, ROUND_HALF_UP)
        )
    else:
        if rec.get("UnitPrice") is None and before is None:
            raise SFError(
                "REQUIRED_FIELD_MISSING",
                "Required fields are missing: [UnitPrice or TotalPrice]",
                ["UnitPrice"],
            )
        rec["TotalPrice"] = float(
            (Decimal(str(rec["UnitPrice"])) * qty).quantize(CENT, ROUND_HALF_UP)
        )
    product = org.store.get("Product2", entry["Product2Id"]) or {}
    rec["Subtotal"] = float((Decimal(str(rec["UnitPrice"])) * qty).quantize(CENT, ROUND_HALF_UP))
    rec["ListPrice"] = entry.get("UnitPrice")
    rec["Product2Id"] = entry["Product2Id"]
    rec["Name"] = f"{opp.get('Name')} {product.get('Name')}"
    rec["ProductCode"] = product.get("ProductCode")


def _line_after(org: Org, rec: dict, before: dict | None) -> None:
    _recompute_opportunity(org, rec["OpportunityId"])


def _contact_role_after(org: Org, rec: dict, before: dict | None) -> None:
    """One primary contact per opportunity: marking one clears the others."""
    if not rec.get("IsPrimary"):
        return
    for other in org.children("OpportunityContactRole", "OpportunityId", rec["OpportunityId"]):
        if other["Id"] != rec["Id"] and other.get("IsPrimary"):
            now = org.now()
            org._save(
                "OpportunityContactRole",
                dict(other, IsPrimary=False, LastModifiedDate=now, SystemModstamp=now),
            )


def _delete_pricebook(org: Org, rec: dict) -> None:
    if rec.get("IsStandard"):
        raise SFError("DELETE_FAILED", "Cannot delete the standard price book", status=400)


def _delete_entry(org: Org, rec: dict) -> None:
    if org.children("OpportunityLineItem", "PricebookEntryId", rec["Id"]):
        raise SFError(
            "DELETE_FAILED",
            "Your attempt to delete this price book entry could "
            "not be completed because it is associated with opportunity line items",
        )


_RULES = {
    "Account": _account,
    "Contact": _person,
    "User": _person,
    "Opportunity": _opportunity,
    "Pricebook2": _pricebook,
    "PricebookEntry": _pricebook_entry,
    "OpportunityLineItem": _line_item,
}
_AFTER = {
    "OpportunityLineItem": _line_after,
    "OpportunityContactRole": _contact_role_after,
}
_AFTER_DELETE = {
    "OpportunityLineItem": lambda org, rec: _recompute_opportunity(org, rec["OpportunityId"])
}
_DELETE_CHECKS = {"Pricebook2": _delete_pricebook, "PricebookEntry": _delete_entry}
