"""QBO's language -> qbXML requests: entities, query conditions, writes (pure, R-QBD-3, R-QBD-4).

The steps speak QuickBooks Online (``sfqb.hooks.interface``); this module turns what they ask
into the qbXML request elements the queue sends through the Web Connector (api-notes 7, 8):

- ``ENTITIES``: each QBO entity the sync reads, and the Desktop query, Ret elements and
  deletion types behind it;
- ``query_request``: ``Condition`` values -> one query request element (``Query``), each
  condition translated or refused by name (``UnsupportedCondition``); a condition a filter can
  only approximate (a creation time, a second date range) is sent as the wider filter and kept
  in ``Query.post`` for the adapter to apply to the normalised records;
- ``customer_add`` / ``customer_mod`` / ``txn_add`` / ``sales_order_mod``: QBO payloads ->
  Add/Mod request elements, in the schema's element order (an element out of order fails the
  whole message set, api-notes 8.5), every add carrying its ``ExternalGUID`` (``identity``).

Date-times go out in the company's local time with its offset (api-notes 7.4, 8.4: a date-time
without one would be read as the QuickBooks PC's local time).
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any
from xml.sax.saxutils import escape

from sfqb.hooks.errors import ValidationError
from sfqb.qbo_queries import LAST_UPDATED, Condition

IDENTITY_NAMESPACE = uuid.UUID("0b7d4c1e-51a2-5f7e-8c33-9e2d6a4f1b27")
DEFAULT_PAGE = 200
"""MaxReturned of a read page: integrators keep pages near 150 records (api-notes 7.6)."""
CREATE_TIME = "MetaData.CreateTime"


class UnsupportedCondition(ValueError):
    """A condition the Desktop adapter cannot translate into a qbXML filter."""


@dataclass(frozen=True)
class Entity:
    """A QBO entity as QuickBooks Desktop keeps it."""

    name: str
    query: str  # the query request element
    kind: str  # "list" or "txn"
    rets: tuple[str, ...]  # the Ret elements it answers
    deleted: tuple[str, ...]  # ListDelType / TxnDelType values
    lines: bool = False  # IncludeLineItems
    linked: bool = False  # IncludeLinkedTxns


ITEM_TYPES = {
    "ItemService": "Service",
    "ItemNonInventory": "NonInventory",
    "ItemInventory": "Inventory",
    "ItemInventoryAssembly": "Inventory",
    "ItemOtherCharge": "OtherCharge",
    "ItemDiscount": "Discount",
    "ItemFixedAsset": "FixedAsset",
    "ItemGroup": "Group",
}
ENTITIES = {
    e.name: e
    for e in (
        Entity("Customer", "CustomerQueryRq", "list", ("CustomerRet",), ("Customer",)),
        Entity(
            "Item",
            "ItemQueryRq",
            "list",
            tuple(f"{t}Ret" for t in ITEM_TYPES),
            tuple(ITEM_TYPES),
        ),
        # Inventory Part items only (R-QBD-7: their quantities, read in full every run).
        Entity(
            "ItemInventory",
            "ItemInventoryQueryRq",
            "list",
            ("ItemInventoryRet",),
            ("ItemInventory",),
        ),
        Entity("Term", "StandardTermsQueryRq", "list", ("StandardTermsRet",), ("StandardTerms",)),
        Entity("Class", "ClassQueryRq", "list", ("ClassRet",), ("Class",)),
        Entity("SalesRep", "SalesRepQueryRq", "list", ("SalesRepRet",), ("SalesRep",)),
        Entity("Invoice", "InvoiceQueryRq", "txn", ("InvoiceRet",), ("Invoice",), True, True),
        Entity(
            "SalesReceipt",
            "SalesReceiptQueryRq",
            "txn",
            ("SalesReceiptRet",),
            ("SalesReceipt",),
            True,
        ),
        Entity(
            "SalesOrder",
            "SalesOrderQueryRq",
            "txn",
            ("SalesOrderRet",),
            ("SalesOrder",),
            True,
            True,
        ),
        Entity(
            "Payment", "ReceivePaymentQueryRq", "txn", ("ReceivePaymentRet",), ("ReceivePayment",)
        ),
    )
}
# Properties that select records by their identity or name, per kind of entity.
_SELECT = {
    "list": {"Id": "ListID", "FullyQualifiedName": "FullName", "DisplayName": "FullName"},
    "txn": {"Id": "TxnID", "DocNumber": "RefNumber"},
}
_NAME_SELECT = {"Term": "Name", "Class": "FullyQualifiedName"}


def entity(name: str) -> Entity:
    try:
        return ENTITIES[name]
    except KeyError:
        raise UnsupportedCondition(
            f"QuickBooks Desktop: the sync does not read {name!r} (known: {sorted(ENTITIES)})"
        ) from None


def x(value: object) -> str:
    """Text for an element: escaped."""
    return escape(str(value))


def el(tag: str, value: object) -> str:
    return f"<{tag}>{x(value)}</{tag}>"


def local_time(moment: dt.datetime, tz: dt.tzinfo) -> str:
    """``moment`` in the company's zone, whole seconds, with its offset."""
    if moment.tzinfo is None:
        raise ValueError(f"naive datetime {moment.isoformat()} has no timezone")
    return moment.astimezone(tz).replace(microsecond=0).isoformat()


def _values(c: Condition) -> tuple[object, ...]:
    if c.op == "IN":
        return tuple(c.value)  # type: ignore[arg-type]
    if c.op == "=":
        return (c.value,)
    raise UnsupportedCondition(f"QuickBooks Desktop cannot translate {str(c)!r}: {c.op}")


def _ceil_second(moment: dt.datetime) -> dt.datetime:
    floor = moment.replace(microsecond=0)
    return floor if floor == moment else floor + dt.timedelta(seconds=1)


@dataclass
class Query:
    """One query request element and what the adapter still filters itself."""

    entity: Entity
    request: str
    iterate: bool
    post: list[Condition] = field(default_factory=list)


@dataclass
class _Filters:
    select: tuple[str, list[str]] | None = None
    selected_by: Condition | None = None
    active: str | None = None
    modified_from: dt.datetime | None = None
    modified_to: dt.datetime | None = None
    txn_from: dt.date | None = None
    txn_to: dt.date | None = None
    customers: list[str] | None = None
    post: list[Condition] = field(default_factory=list)


def _time_bound(f: _Filters, c: Condition) -> None:
    if not isinstance(c.value, dt.datetime):
        raise UnsupportedCondition(f"QuickBooks Desktop: {str(c)!r} needs a date-time")
    value = c.value
    if c.op in (">=", ">"):
        start = value.replace(microsecond=0) if c.op == ">=" else _ceil_second(value)
        if c.op == ">" and start == value:
            start += dt.timedelta(seconds=1)
        f.modified_from = max(f.modified_from, start) if f.modified_from else start
    elif c.op in ("<", "<="):
        # ToModifiedDate is inclusive, in whole seconds.
        end = _ceil_second(value) - dt.timedelta(seconds=1) if c.op == "<" else value
        end = end.replace(microsecond=0)
        f.modified_to = min(f.modified_to, end) if f.modified_to else end
    else:
        raise UnsupportedCondition(f"QuickBooks Desktop cannot translate {str(c)!r}")


def _date_bound(f: _Filters, c: Condition) -> None:
    value = c.value
    if isinstance(value, dt.datetime) or not isinstance(value, dt.date):
        raise UnsupportedCondition(f"QuickBooks Desktop: {str(c)!r} needs a date")
    if c.op in (">=", ">", "="):
        start = value + dt.timedelta(days=1) if c.op == ">" else value
        f.txn_from = max(f.txn_from, start) if f.txn_from else start
    if c.op in ("<=", "<", "="):
        end = value - dt.timedelta(days=1) if c.op == "<" else value
        f.txn_to = min(f.txn_to, end) if f.txn_to else end
    if c.op not in (">=", ">", "=", "<=", "<"):
        raise UnsupportedCondition(f"QuickBooks Desktop cannot translate {str(c)!r}")


def _filters(e: Entity, where: Sequence[str], include_inactive: bool) -> _Filters:
    f = _Filters()
    selects = dict(_SELECT[e.kind])
    if e.name in _NAME_SELECT:
        selects[_NAME_SELECT[e.name]] = "FullName"
    for c in where:
        if not isinstance(c, Condition):
            raise UnsupportedCondition(
                f"QuickBooks Desktop needs conditions from sfqb.qbo_queries, not the text {c!r}"
            )
        if c.prop in selects:
            values = [str(v) for v in _values(c)]
            tag = selects[c.prop]
            if f.select is not None:
                raise UnsupportedCondition(
                    f"QuickBooks Desktop: one selection per query; {str(c)!r} is a second one"
                )
            f.select, f.selected_by = (tag, values), c
        elif c.prop == "Active" and e.kind == "list":
            flags = {bool(v) for v in _values(c)}
            f.active = (
                "All" if len(flags) > 1 else ("ActiveOnly" if True in flags else "InactiveOnly")
            )
        elif c.prop == LAST_UPDATED:
            _time_bound(f, c)
        elif c.prop == CREATE_TIME and c.op in (">=", ">"):
            # Created since x implies modified since x: the wider filter, then the adapter's.
            _time_bound(f, Condition(str(c), LAST_UPDATED, c.op, c.value))
            f.post.append(c)
        elif c.prop == "TxnDate" and e.kind == "txn":
            _date_bound(f, c)
        elif c.prop == "CustomerRef" and e.kind == "txn":
            f.customers = [str(v) for v in _values(c)]
        else:
            raise UnsupportedCondition(
                f"QuickBooks Desktop cannot translate the condition {str(c)!r} on {e.name}"
            )
    if f.active is None:
        f.active = "All" if include_inactive else "ActiveOnly"
    return f


def query_request(
    entity_name: str,
    where: Sequence[str] = (),
    *,
    include_inactive: bool = False,
    tz: dt.tzinfo = dt.UTC,
    max_returned: int = DEFAULT_PAGE,
) -> Query:
    """The query request element for ``entity_name`` filtered by ``where`` (R-QBD-3).

    - ``Id``/``FullyQualifiedName``/``DisplayName`` (``=``/``IN``) select by ListID/FullName
      (TxnID, RefNumber from ``DocNumber`` for transactions); a selection takes no other
      filter in qbXML, so the other conditions are applied by the adapter (``post``);
    - ``Active`` -> ActiveStatus (name lists; active only unless ``include_inactive``);
    - ``MetaData.LastUpdatedTime`` -> FromModifiedDate/ToModifiedDate (lists) or
      ModifiedDateRangeFilter (transactions), local time with offset, ``<`` made inclusive;
    - ``MetaData.CreateTime >=`` -> the same modified-date bound, then ``post``;
    - ``TxnDate`` -> TxnDateRangeFilter (a transaction query takes one date filter: with a
      modified-date range too, the TxnDate bound goes to ``post``);
    - ``CustomerRef`` -> EntityFilter ListIDs.
    Anything else raises ``UnsupportedCondition`` naming the condition."""
    e = entity(entity_name)
    f = _filters(e, where, include_inactive)
    parts: list[str] = []
    post = list(f.post)
    select = f.select
    if select is not None:
        tag, values = select
        parts += [el(tag, v) for v in values]
        # A selection answers whatever it names; the other conditions are ours to apply.
        post = [c for c in where if isinstance(c, Condition) and c is not f.selected_by]
        if (
            e.kind == "list"
            and not include_inactive
            and not any(isinstance(c, Condition) and c.prop == "Active" for c in where)
        ):
            post.append(Condition("Active = true", "Active", "=", True))
    else:
        parts.append(el("MaxReturned", max_returned))
        if e.kind == "list":
            parts.append(el("ActiveStatus", f.active))
            if f.modified_from:
                parts.append(el("FromModifiedDate", local_time(f.modified_from, tz)))
            if f.modified_to:
                parts.append(el("ToModifiedDate", local_time(f.modified_to, tz)))
        else:
            if f.modified_from or f.modified_to:
                inner = ""
                if f.modified_from:
                    inner += el("FromModifiedDate", local_time(f.modified_from, tz))
                if f.modified_to:
                    inner += el("ToModifiedDate", local_time(f.modified_to, tz))
                parts.append(f"<ModifiedDateRangeFilter>{inner}</ModifiedDateRangeFilter>")
                post += [c for c in where if isinstance(c, Condition) and c.prop == "TxnDate"]
            elif f.txn_from or f.txn_to:
                inner = ""
                if f.txn_from:
                    inner += el("FromTxnDate", f.txn_from.isoformat())
                if f.txn_to:
                    inner += el("ToTxnDate", f.txn_to.isoformat())
                parts.append(f"<TxnDateRangeFilter>{inner}</TxnDateRangeFilter>")
            if f.customers is not None:
                ids = "".join(el("ListID", v) for v in f.customers)
                parts.append(f"<EntityFilter>{ids}</EntityFilter>")
    if e.kind == "txn":
        if e.lines:
            parts.append(el("IncludeLineItems", "true"))
        if e.linked:
            parts.append(el("IncludeLinkedTxns", "true"))
    body = "".join(parts)
    return Query(e, f"<{e.query}>{body}</{e.query}>", iterate=select is None, post=post)


def deleted_request(entity_names: Sequence[str], since: dt.datetime, tz: dt.tzinfo) -> list[str]:
    """ListDeletedQuery / TxnDeletedQuery requests for the entities' deletions since ``since``
    (QuickBooks keeps about 90 days, api-notes 7.4)."""
    out = []
    for kind, tag in (("list", "List"), ("txn", "Txn")):
        types = [t for n in entity_names for t in entity(n).deleted if entity(n).kind == kind]
        if types:
            body = "".join(el(f"{tag}DelType", t) for t in types)
            body += (
                "<DeletedDateRangeFilter>"
                + el("FromDeletedDate", local_time(since, tz))
                + "</DeletedDateRangeFilter>"
            )
            out.append(f"<{tag}DeletedQueryRq>{body}</{tag}DeletedQueryRq>")
    return out


# -- writes -------------------------------------------------------------------------------------


def identity(*parts: object) -> str:
    """The deterministic ExternalGUID of an add: UUID5 of its parts, in braces, upper case."""
    return "{" + str(uuid.uuid5(IDENTITY_NAMESPACE, "\x1f".join(map(str, parts)))).upper() + "}"


def _ref(tag: str, ref: Any) -> str:
    if not isinstance(ref, dict):
        return ""
    if ref.get("value"):
        return f"<{tag}>{el('ListID', ref['value'])}</{tag}>"
    if ref.get("name"):
        return f"<{tag}>{el('FullName', ref['name'])}</{tag}>"
    return ""


ADDRESS = (
    ("Line1", "Addr1"),
    ("Line2", "Addr2"),
    ("Line3", "Addr3"),
    ("Line4", "Addr4"),
    ("Line5", "Addr5"),
    ("City", "City"),
    ("CountrySubDivisionCode", "State"),
    ("PostalCode", "PostalCode"),
    ("Country", "Country"),
)


def address(tag: str, addr: Any) -> str:
    """A QBO address (Line1..5, City, CountrySubDivisionCode, PostalCode, Country) as qbXML's."""
    if not isinstance(addr, dict):
        return ""
    inner = "".join(el(d, addr[q]) for q, d in ADDRESS if addr.get(q) is not None)
    return f"<{tag}>{inner}</{tag}>" if inner or addr else ""


def _nested(payload: dict, *path: str) -> Any:
    node: Any = payload
    for part in path:
        node = node.get(part) if isinstance(node, dict) else None
    return node


def _customer_body(payload: dict) -> str:
    """The fields of CustomerAdd/CustomerMod after Name, in the schema's order."""
    out = ""
    if "Active" in payload:
        out += el("IsActive", "true" if payload["Active"] else "false")
    out += _ref("ParentRef", payload.get("ParentRef"))
    for qbo, qbd in (
        ("CompanyName", "CompanyName"),
        ("Title", "Salutation"),
        ("GivenName", "FirstName"),
        ("MiddleName", "MiddleName"),
        ("FamilyName", "LastName"),
    ):
        if qbo in payload:
            out += el(qbd, payload[qbo])
    out += address("BillAddress", payload.get("BillAddr"))
    out += address("ShipAddress", payload.get("ShipAddr"))
    for path, tag in (
        (("PrimaryPhone", "FreeFormNumber"), "Phone"),
        (("AlternatePhone", "FreeFormNumber"), "AltPhone"),
        (("Fax", "FreeFormNumber"), "Fax"),
        (("PrimaryEmailAddr", "Address"), "Email"),
    ):
        value = _nested(payload, *path)
        if value is not None:
            out += el(tag, value)
    out += _ref("TermsRef", payload.get("SalesTermRef"))
    out += _ref("SalesRepRef", payload.get("SalesRepRef"))
    return out


def _customer_tail(payload: dict) -> str:
    out = ""
    if payload.get("CreditLimit") not in (None, ""):  # qbXML cannot clear a credit limit
        out += el("CreditLimit", _money(payload["CreditLimit"]))
    if payload.get("JobStatus"):
        out += el("JobStatus", payload["JobStatus"])
    if payload.get("Notes") is not None:
        out += el("Notes", payload["Notes"])
    return out


def customer_add(payload: dict, guid: str) -> str:
    """CustomerAdd from a QBO Customer payload: ``DisplayName`` is the Name (R-QBD-4)."""
    name = payload.get("DisplayName") or payload.get("CompanyName")
    if not name:
        raise ValidationError("QuickBooks Desktop: a customer needs a DisplayName")
    body = el("Name", name) + _customer_body(payload) + _customer_tail(payload)
    body += el("ExternalGUID", guid)
    return f"<CustomerAddRq><CustomerAdd>{body}</CustomerAdd></CustomerAddRq>"


def customer_mod(payload: dict) -> str:
    """CustomerMod from a (sparse) QBO update: ``Id``/``SyncToken`` are ListID/EditSequence."""
    if not payload.get("Id") or payload.get("SyncToken") is None:
        raise ValidationError("QuickBooks Desktop: a customer update needs Id and SyncToken")
    body = el("ListID", payload["Id"]) + el("EditSequence", payload["SyncToken"])
    if payload.get("DisplayName"):
        body += el("Name", payload["DisplayName"])
    body += _customer_body(payload) + _customer_tail(payload)
    return f"<CustomerModRq><CustomerMod>{body}</CustomerMod></CustomerModRq>"


def _money(value: Any) -> str:
    return f"{Decimal(str(value)):.2f}"


def _number(value: Any) -> str:
    d = Decimal(str(value))
    return format(d.normalize(), "f") if d != d.to_integral_value() else str(int(d))


LINE_ADD = {
    "Invoice": "InvoiceLineAdd",
    "SalesReceipt": "SalesReceiptLineAdd",
    "SalesOrder": "SalesOrderLineAdd",
}


def _line(tag: str, line: dict, *, mod: bool = False) -> str:
    detail = line.get("SalesItemLineDetail") or {}
    out = el("TxnLineID", line.get("Id") or "-1") if mod else ""
    out += _ref("ItemRef", detail.get("ItemRef"))
    if line.get("Description") is not None:
        out += el("Desc", line["Description"])
    if detail.get("Qty") is not None:
        out += el("Quantity", _number(detail["Qty"]))
    if detail.get("UnitPrice") is not None:
        out += el("Rate", _number(detail["UnitPrice"]))
    out += _ref("ClassRef", detail.get("ClassRef"))
    if line.get("Amount") is not None:
        out += el("Amount", _money(line["Amount"]))
    if detail.get("ServiceDate") and tag != "SalesOrderLineAdd" and not mod:
        out += el("ServiceDate", detail["ServiceDate"])
    return f"<{tag}>{out}</{tag}>"


def _sales_lines(payload: dict) -> list[dict]:
    return [
        line
        for line in payload.get("Line") or []
        if line.get("DetailType", "SalesItemLineDetail") == "SalesItemLineDetail"
    ]


def _txn_head(entity_name: str, payload: dict, *, mod: bool = False) -> str:
    """The header of an Invoice/SalesReceipt/SalesOrder Add (or SalesOrderMod) in order."""
    out = _ref("CustomerRef", payload.get("CustomerRef"))
    out += _ref("ClassRef", payload.get("ClassRef"))
    if payload.get("TxnDate"):
        out += el("TxnDate", payload["TxnDate"])
    if payload.get("DocNumber"):
        out += el("RefNumber", payload["DocNumber"])
    out += address("BillAddress", payload.get("BillAddr"))
    out += address("ShipAddress", payload.get("ShipAddr"))
    if entity_name in ("Invoice", "SalesOrder"):
        if payload.get("PONumber") is not None:
            out += el("PONumber", payload["PONumber"])
        out += _ref("TermsRef", payload.get("SalesTermRef"))
    if payload.get("DueDate"):
        out += el("DueDate", payload["DueDate"])
    out += _ref("SalesRepRef", payload.get("SalesRepRef"))
    if payload.get("ShipDate"):
        out += el("ShipDate", payload["ShipDate"])
    ship = payload.get("ShipMethodRef")
    if isinstance(ship, dict) and (ship.get("value") or ship.get("name")):
        method = el("FullName", ship.get("name") or ship.get("value"))
        out += f"<ShipMethodRef>{method}</ShipMethodRef>"
    if payload.get("PrivateNote") is not None:
        out += el("Memo", payload["PrivateNote"])
    return out


def txn_add(entity_name: str, payload: dict, guid: str) -> str:
    """InvoiceAdd / SalesReceiptAdd / SalesOrderAdd from a QBO transaction payload: DocNumber
    is the RefNumber, PrivateNote the Memo, SalesItemLineDetail lines the line adds."""
    if entity_name not in LINE_ADD:
        raise ValidationError(f"QuickBooks Desktop: the sync does not add {entity_name}")
    body = _txn_head(entity_name, payload) + el("ExternalGUID", guid)
    body += "".join(_line(LINE_ADD[entity_name], line) for line in _sales_lines(payload))
    tag = f"{entity_name}Add"
    return f"<{tag}Rq><{tag}>{body}</{tag}></{tag}Rq>"


def sales_order_mod(payload: dict) -> str:
    """SalesOrderMod from a QBO update: lines with an ``Id`` modify that line, others are new
    (TxnLineID -1); a line left out of a Mod that lists lines is deleted (qbXML's rule)."""
    if not payload.get("Id") or payload.get("SyncToken") is None:
        raise ValidationError("QuickBooks Desktop: a sales order update needs Id and SyncToken")
    body = el("TxnID", payload["Id"]) + el("EditSequence", payload["SyncToken"])
    body += _txn_head("SalesOrder", payload, mod=True)
    body += "".join(_line("SalesOrderLineMod", line, mod=True) for line in _sales_lines(payload))
    return f"<SalesOrderModRq><SalesOrderMod>{body}</SalesOrderMod></SalesOrderModRq>"


def write_request(entity_name: str, operation: str, payload: dict, guid: str) -> str:
    """The request element of one write (``BatchOp``): the adds and mods the sync makes."""
    if entity_name == "Customer" and operation == "create":
        return customer_add(payload, guid)
    if entity_name == "Customer" and operation == "update":
        return customer_mod(payload)
    if operation == "create":
        return txn_add(entity_name, payload, guid)
    if entity_name == "SalesOrder" and operation == "update":
        return sales_order_mod(payload)
    raise ValidationError(
        f"QuickBooks Desktop: {operation} of {entity_name} is not supported by the adapter"
    )
