"""Query, CDC and batch over a :class:`Company` (api-notes 2.5, 2.8, 2.9)."""

from __future__ import annotations

import datetime as dt
import functools
from itertools import islice
from typing import Any

from . import query as qlang
from .company import Company, public
from .faults import QBOFault
from .values import parse_qbo_datetime, qbo_time

CDC_ENTITIES = {
    "Customer",
    "Item",
    "Class",
    "Term",
    "Invoice",
    "SalesReceipt",
    "Estimate",
    "Payment",
    "Account",
    "Preferences",
    "CompanyInfo",
}
CDC_MAX = 1000
CDC_WINDOW_DAYS = 30
BATCH_MAX = 30


@functools.lru_cache(maxsize=65536)
def _epoch(text: str) -> float:
    return parse_qbo_datetime(text).timestamp()


def run_query(company: Company, text: str) -> dict:
    q = qlang.parse(text)
    if q.entity not in qlang.FILTERABLE:
        raise QBOFault(
            "4001",
            f"QueryValidationError: Invalid entity name {q.entity!r} "
            "(entity names are case sensitive)",
        )
    predicate = qlang.compile_conditions(q) if q.conditions else None
    rows: Any = company.store.table(q.entity).values()
    if q.order and not q.count:
        rows = _sorted_table(company, q)
    if q.entity in qlang.NAME_LISTS and not qlang.has_active_condition(q):
        rows = (obj for obj in rows if obj.get("Active", True))
    if predicate is not None:
        rows = (obj for obj in rows if predicate(obj))
    if q.count:
        return {"totalCount": sum(1 for _ in rows)}
    page = list(islice(rows, q.start - 1, q.start - 1 + q.max_results))
    if not page:
        return {}
    return {
        q.entity: [public(obj) for obj in page],
        "startPosition": q.start,
        "maxResults": len(page),
    }


_SORT_CACHE: dict[tuple, tuple[int, list[dict]]] = {}


def _sorted_table(company: Company, q: qlang.Query) -> list[dict]:
    """The whole table in ORDER BY order, cached until the table changes: paging a 100k
    list by LastUpdatedTime then costs one filter pass per page, not one sort."""
    key = (id(company.store), q.entity, tuple((p.lower(), d) for p, d in q.order))
    version = company.store.versions.get(q.entity, 0)
    cached = _SORT_CACHE.get(key)
    if cached is not None and cached[0] == version:
        return cached[1]
    rows = qlang.sort_rows(q, company.store.table(q.entity).values())
    if len(_SORT_CACHE) > 32:
        _SORT_CACHE.clear()
    _SORT_CACHE[key] = (version, rows)
    return rows


def run_cdc(company: Company, entities: str | None, changed_since: str | None) -> dict:
    if not entities:
        raise QBOFault("2020", "Required parameter entities is missing in the request")
    if not changed_since:
        raise QBOFault("2020", "Required parameter changedSince is missing in the request")
    names = [name.strip() for name in entities.split(",") if name.strip()]
    for name in names:
        if name not in CDC_ENTITIES:
            raise QBOFault("4001", f"Invalid entity {name!r} for change data capture")
    try:
        since = parse_qbo_datetime(changed_since)
    except ValueError:
        raise QBOFault(
            "4001", f"changedSince {changed_since!r} is not a valid date or date-time"
        ) from None
    now = company.now()
    if since < now - dt.timedelta(days=CDC_WINDOW_DAYS):
        raise QBOFault(
            "4001",
            f"Invalid changedSince: changedSince {changed_since} must be "
            f"within the last {CDC_WINDOW_DAYS} days",
        )
    # MetaData times have whole seconds: compare at that granularity so a change in the same
    # second as changedSince is reported (a repeat is harmless, a miss is not).
    cutoff = float(int(since.timestamp()))
    changed: list[tuple[float, str, dict]] = []
    for name in names:
        for obj in company.store.table(name).values():
            stamp = _epoch(obj["MetaData"]["LastUpdatedTime"])
            if stamp >= cutoff:
                changed.append((stamp, name, public(obj)))
    wanted = set(names)
    for entity, id_, ts, time_text in company.store.deleted:
        if entity in wanted and ts >= cutoff:
            changed.append(
                (
                    ts,
                    entity,
                    {
                        "domain": "QBO",
                        "status": "Deleted",
                        "Id": str(id_),
                        "MetaData": {"LastUpdatedTime": time_text},
                    },
                )
            )
    changed.sort(key=lambda row: row[0])
    changed = changed[:CDC_MAX]
    groups: dict[str, list[dict]] = {}
    for _, name, obj in changed:
        groups.setdefault(name, []).append(obj)
    responses = [
        {name: groups[name], "startPosition": 1, "maxResults": len(groups[name])}
        for name in names
        if groups.get(name)
    ]
    return {"CDCResponse": [{"QueryResponse": responses}], "time": qbo_time(now, millis=True)}


WRITE_OPS = {"create", "update", "delete"}


def batch_item(company: Company, item: Any) -> tuple[dict, bool]:
    """One BatchItemResponse (without bId) and whether it wrote."""
    if not isinstance(item, dict):
        raise QBOFault("2010", "BatchItemRequest entries must be objects")
    extra = [k for k in item if k not in ("bId", "operation", "optionsData")]
    if "Query" in item:
        return {"QueryResponse": run_query(company, item["Query"])}, False
    if len(extra) != 1:
        raise QBOFault("2010", "A BatchItemRequest needs exactly one entity payload")
    entity = extra[0]
    if entity not in (
        "Customer",
        "Item",
        "Invoice",
        "SalesReceipt",
        "Estimate",
        "Payment",
        "Term",
        "Class",
        "Account",
    ):
        raise QBOFault("2010", f"Property Name:{entity} is not supported in batch")
    operation = item.get("operation")
    payload = item[entity]
    if operation not in WRITE_OPS:
        raise QBOFault("2170", f"Invalid Enumeration : operation {operation!r}")
    if item.get("optionsData") == "void" and operation == "update":
        return {entity: public(company.void(entity, payload))}, True
    if operation == "create":
        if isinstance(payload, dict) and payload.get("Id") not in (None, "", 0, "0"):
            raise QBOFault("2010", "Property Name:Id is not allowed on create")
        return {entity: public(company.create(entity, payload))}, True
    if operation == "update":
        if not isinstance(payload, dict) or payload.get("Id") in (None, "", 0, "0"):
            raise QBOFault("2020", "Required parameter Id is missing in the request")
        return {entity: public(company.update(entity, payload))}, True
    return {entity: company.delete(entity, payload if isinstance(payload, dict) else {})}, True
