"""The REST API routes: query, sObjects, collections, describe, limits, getUpdated/getDeleted.

Paths follow api-notes 3.2-3.10 under ``/services/data/v{version}/``, with and without a
trailing slash (simple-salesforce adds one). Handlers are ``async`` and run on the event loop,
so the in-memory org needs no locks; each write request flushes its changes to SQLite once.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import TYPE_CHECKING

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response

from ..common.service import mark
from .errors import SFError, not_found
from .ids import to18
from .soql import format_datetime, parse_datetime

if TYPE_CHECKING:
    from .service import SalesforceService

BATCH_SIZE = 2000
MAX_COLLECTION = 200


def route(app: FastAPI, path: str, methods: list[str]):
    """Register a handler for ``path`` and ``path/`` (simple-salesforce adds trailing slashes)."""

    def decorator(fn):
        app.add_api_route(path, fn, methods=methods)
        app.add_api_route(path + "/", fn, methods=methods, include_in_schema=False)
        return fn

    return decorator


async def json_body(request: Request):
    raw = await request.body()
    if not raw:
        return {}
    try:
        return json.loads(raw)
    except ValueError as exc:
        raise SFError("JSON_PARSER_ERROR", f"Unexpected character: {exc}") from None


def install(app: FastAPI, svc: SalesforceService) -> None:
    org = svc.org
    base = "/services/data/v{version}"

    def done(request: Request, op: str) -> None:
        n = org.flush()
        mark(request, op, write=True)
        if n:
            svc.ctx.admin.count("records.written", n)

    # --- versions, limits, describe -----------------------------------------------------
    @route(app, "/services/data", ["GET"])
    async def versions(request: Request):
        mark(request, "versions", write=False)
        return [
            {"label": f"Winter '{v - 35}", "url": f"/services/data/v{v}.0", "version": f"{v}.0"}
            for v in range(52, 61)
        ]

    @route(app, base + "/limits", ["GET"])
    async def limits(request: Request, version: str):
        mark(request, "limits", write=False)
        return svc.limits_body()

    @route(app, base + "/sobjects", ["GET"])
    async def describe_global(request: Request, version: str):
        mark(request, "describe", write=False)
        sobjects = []
        for obj in svc.schema.objects.values():
            url = f"/services/data/v{version}/sobjects/{obj.name}"
            sobjects.append(
                {
                    "name": obj.name,
                    "label": obj.label,
                    "labelPlural": obj.label_plural,
                    "keyPrefix": obj.key_prefix,
                    "custom": obj.custom,
                    "queryable": True,
                    "createable": True,
                    "updateable": True,
                    "deletable": True,
                    "searchable": True,
                    "urls": {
                        "sobject": url,
                        "describe": f"{url}/describe",
                        "rowTemplate": f"{url}/{{ID}}",
                    },
                }
            )
        return {"encoding": "UTF-8", "maxBatchSize": 200, "sobjects": sobjects}

    @route(app, base + "/sobjects/{sobject}/describe", ["GET"])
    async def describe(request: Request, version: str, sobject: str):
        obj = org.obj(sobject)
        mark(request, f"describe.{obj.name}", write=False)
        return obj.describe(version)

    @route(app, base + "/sobjects/{sobject}/describe/layouts", ["GET"])
    async def layouts(request: Request, version: str, sobject: str):
        obj = org.obj(sobject)
        mark(request, f"describe.layouts.{obj.name}", write=False)
        return svc.layouts(obj, version)

    @route(app, base + "/sobjects/{sobject}/describe/layouts/{record_type}", ["GET"])
    async def layout_for_record_type(
        request: Request, version: str, sobject: str, record_type: str
    ):
        obj = org.obj(sobject)
        mark(request, f"describe.layouts.{obj.name}", write=False)
        body = svc.layouts(obj, version)
        for mapping in body.get("recordTypeMappings") or []:
            if mapping.get("recordTypeId", "")[:15] == record_type[:15]:
                for layout in body.get("layouts") or []:
                    if layout.get("id") == mapping.get("layoutId"):
                        return layout
        raise not_found()

    # --- getUpdated / getDeleted ---------------------------------------------------------
    def window(request: Request, max_days: int) -> tuple[str, str, str]:
        start_text = request.query_params.get("start")
        end_text = request.query_params.get("end")
        if not start_text or not end_text:
            raise SFError("MALFORMED_QUERY", "Both start and end parameters are required")
        try:
            start = parse_datetime(start_text).replace(second=0, microsecond=0)
            end = parse_datetime(end_text).replace(second=0, microsecond=0)
        except SFError:
            raise SFError(
                "INVALID_REPLICATION_DATE", f"Invalid date/time: {start_text} - {end_text}"
            ) from None
        now = svc.ctx.clock.now().replace(second=0, microsecond=0)
        if start < now - dt.timedelta(days=max_days):
            raise SFError(
                "INVALID_REPLICATION_DATE", f"startDate cannot be more than {max_days} days ago"
            )
        if end < start:
            raise SFError(
                "INVALID_REPLICATION_DATE", "EndDate must chronologically follow the StartDate"
            )
        end = min(end, now)
        return format_datetime(start), format_datetime(end), format_datetime(now)

    @route(app, base + "/sobjects/{sobject}/updated", ["GET"])
    async def updated(request: Request, version: str, sobject: str):
        obj = org.obj(sobject)
        mark(request, f"sobject.updated.{obj.name}", write=False)
        start, end, _ = window(request, 30)
        ids = [
            r["Id"]
            for r in org.store.table(obj.name).values()
            if not r.get("IsDeleted") and start <= (r.get("SystemModstamp") or "") < end
        ]
        if len(ids) > 600_000:
            raise SFError(
                "EXCEEDED_ID_LIMIT",
                "record limit reached. cannot submit more than 600000 records in this operation",
            )
        return {"ids": ids, "latestDateCovered": end}

    @route(app, base + "/sobjects/{sobject}/deleted", ["GET"])
    async def deleted(request: Request, version: str, sobject: str):
        obj = org.obj(sobject)
        mark(request, f"sobject.deleted.{obj.name}", write=False)
        start, end, now = window(request, 15)
        records = [
            {"id": r["Id"], "deletedDate": r["_deleted_at"]}
            for r in org.store.table(obj.name).values()
            if r.get("IsDeleted") and start <= r.get("_deleted_at", "") < end
        ]
        earliest = format_datetime(svc.ctx.clock.now() - dt.timedelta(days=15))
        return {
            "deletedRecords": records,
            "earliestDateAvailable": earliest,
            "latestDateCovered": end,
        }

    # --- sObject rows ----------------------------------------------------------------------
    @route(app, base + "/sobjects/{sobject}", ["GET", "POST"])
    async def sobject_root(request: Request, version: str, sobject: str):
        obj = org.obj(sobject)
        if request.method == "GET":
            mark(request, f"sobject.basic.{obj.name}", write=False)
            return {
                "objectDescribe": {
                    k: v
                    for k, v in obj.describe(version).items()
                    if k not in ("fields", "childRelationships")
                },
                "recentItems": [],
            }
        body = await json_body(request)
        if not isinstance(body, dict):
            raise SFError("JSON_PARSER_ERROR", "Expected a JSON object")
        new_id = org.create(obj.name, body)
        done(request, f"sobject.create.{obj.name}")
        return JSONResponse({"id": new_id, "success": True, "errors": []}, status_code=201)

    @route(app, base + "/sobjects/{sobject}/{record_id}", ["GET", "PATCH", "DELETE", "POST"])
    async def sobject_row(request: Request, version: str, sobject: str, record_id: str):
        obj = org.obj(sobject)
        if request.method == "POST":
            if record_id.lower() == "id":  # POST /sobjects/X/Id creates (api-notes 3.5.1)
                return await sobject_root(request, version, sobject)
            raise SFError(
                "METHOD_NOT_ALLOWED",
                "HTTP Method 'POST' not allowed. Allowed are GET,PATCH,DELETE",
                status=405,
            )
        if request.method == "GET":
            mark(request, f"sobject.get.{obj.name}", write=False)
            rec = org.record(obj.name, record_id)
            fields = request.query_params.get("fields")
            return svc.render(obj, rec, version, fields.split(",") if fields else None)
        if request.method == "PATCH":
            body = await json_body(request)
            org.update(obj.name, record_id, body)
            done(request, f"sobject.update.{obj.name}")
            return Response(status_code=204)
        org.delete(obj.name, record_id)
        done(request, f"sobject.delete.{obj.name}")
        return Response(status_code=204)

    @route(app, base + "/sobjects/{sobject}/{ext_field}/{value:path}", ["GET", "PATCH", "POST"])
    async def by_external_id(
        request: Request, version: str, sobject: str, ext_field: str, value: str
    ):
        obj = org.obj(sobject)  # the path arrives percent-decoded (a "+" stays a "+")
        if request.method == "GET":
            mark(request, f"sobject.get.{obj.name}", write=False)
            f = obj.field(ext_field)
            if f is None or not (f.external_id or f.id_lookup or f.name == "Id"):
                raise not_found()
            if f.name == "Id":
                return svc.render(obj, org.record(obj.name, value), version, None)
            matches = org.find_by(obj.name, f.name, value)
            if not matches:
                raise not_found()
            if len(matches) > 1:
                urls = [f"/services/data/v{version}/sobjects/{obj.name}/{m['Id']}" for m in matches]
                return JSONResponse(urls, status_code=300)
            return svc.render(obj, matches[0], version, None)
        body = await json_body(request)
        if request.method == "POST" and ext_field.lower() != "id":
            raise SFError(
                "METHOD_NOT_ALLOWED",
                "HTTP Method 'POST' not allowed. Allowed are GET,PATCH,DELETE",
                status=405,
            )
        update_only = request.query_params.get("updateOnly", "").lower() == "true"
        if update_only and not (
            org.find_by(obj.name, ext_field, value) if obj.field(ext_field) else []
        ):
            raise not_found()
        try:
            record_id, created = org.upsert(obj.name, ext_field, value, body)
        except SFError as exc:
            if exc.status == 300:
                matches = org.find_by(obj.name, ext_field, value)
                urls = [f"/services/data/v{version}/sobjects/{obj.name}/{m['Id']}" for m in matches]
                return JSONResponse(urls, status_code=300)
            raise
        done(request, f"sobject.upsert.{obj.name}")
        result = {"id": record_id, "success": True, "errors": [], "created": created}
        if created:
            return JSONResponse(result, status_code=201)
        if float(version) < 46:
            return Response(status_code=204)
        return JSONResponse(result, status_code=200)

    # --- query -----------------------------------------------------------------------------
    async def run_query(request: Request, version: str, include_deleted: bool):
        text = request.query_params.get("q")
        if not text:
            raise SFError("MALFORMED_QUERY", "A query string has to be specified")
        mark(request, "queryAll" if include_deleted else "query", write=False)
        org.engine.api_version = version
        query, rows = org.engine.run(text, include_deleted=include_deleted)
        if query.count_only:
            return {"totalSize": len(rows), "done": True, "records": []}
        batch = svc.batch_size(request)
        return svc.page(rows, 0, batch, version, include_deleted)

    @route(app, base + "/query", ["GET"])
    async def query(request: Request, version: str):
        return await run_query(request, version, False)

    @route(app, base + "/queryAll", ["GET"])
    async def query_all(request: Request, version: str):
        return await run_query(request, version, True)

    async def more(request: Request, version: str, locator: str, include_deleted: bool):
        mark(request, "queryMore", write=False)
        cursor_id, _, offset = locator.rpartition("-")
        cursor = svc.cursors.get(cursor_id)
        if cursor is None or not offset.isdigit():
            raise SFError("INVALID_QUERY_LOCATOR", "invalid query locator")
        return svc.page(
            cursor["rows"], int(offset), cursor["batch"], version, include_deleted, cursor_id
        )

    @route(app, base + "/query/{locator}", ["GET"])
    async def query_more(request: Request, version: str, locator: str):
        return await more(request, version, locator, False)

    @route(app, base + "/queryAll/{locator}", ["GET"])
    async def query_all_more(request: Request, version: str, locator: str):
        return await more(request, version, locator, True)

    # --- sObject Collections ----------------------------------------------------------------
    def collection_records(body) -> tuple[list, bool]:
        if not isinstance(body, dict) or not isinstance(body.get("records"), list):
            raise SFError("JSON_PARSER_ERROR", "Expected a JSON object with a 'records' array")
        records = body["records"]
        if len(records) > MAX_COLLECTION:
            raise SFError(
                "EXCEEDED_ID_LIMIT",
                "record limit reached. cannot submit more than "
                f"{MAX_COLLECTION} records in this operation",
            )
        return records, bool(body.get("allOrNone", False))

    def run_collection(request: Request, items: list, all_or_none: bool, action) -> list:
        results = []
        failed = False
        with org.transaction():
            for n, item in enumerate(items):
                try:
                    with org.atomic():
                        results.append(action(n, item))
                except SFError as exc:
                    failed = True
                    results.append({"success": False, "errors": [exc.save_error()]})
            if failed and all_or_none:
                org.rollback()
                rolled = {
                    "statusCode": "ALL_OR_NONE_OPERATION_ROLLED_BACK",
                    "message": "Record rolled back because not all records were valid "
                    "and the request was using AllOrNone header",
                    "fields": [],
                }
                results = [
                    r if not r["success"] else {"success": False, "errors": [rolled]}
                    for r in results
                ]
        return results

    def record_type(item, default: str | None = None) -> str:
        if not isinstance(item, dict):
            raise SFError("JSON_PARSER_ERROR", "Each record must be a JSON object")
        attrs = item.get("attributes") or {}
        sobject = attrs.get("type") or default
        if not sobject:
            raise SFError("INVALID_TYPE", "Must specify a type in attributes")
        return org.obj(sobject).name

    @route(app, base + "/composite/sobjects", ["POST", "PATCH", "DELETE", "GET"])
    async def collections(request: Request, version: str):
        if request.method == "DELETE":
            ids = [i for i in request.query_params.get("ids", "").split(",") if i]
            if len(ids) > MAX_COLLECTION:
                raise SFError(
                    "EXCEEDED_ID_LIMIT",
                    "record limit reached. cannot submit more "
                    f"than {MAX_COLLECTION} records in this operation",
                )
            all_or_none = request.query_params.get("allOrNone", "").lower() == "true"

            def remove(n, record_id):
                full = to18(record_id)
                if full is None:
                    raise SFError("MALFORMED_ID", f"malformed id {record_id}")
                found = org.store.find(full)
                if found is None:
                    raise SFError("INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id")
                org.delete(found[0], found[1]["Id"])
                return {"id": found[1]["Id"], "success": True, "errors": []}

            results = run_collection(request, ids, all_or_none, remove)
            done(request, "collections.delete")
            return results
        if request.method == "GET":
            raise SFError("NOT_FOUND", "The requested resource does not exist", status=404)
        records, all_or_none = collection_records(await json_body(request))
        if request.method == "POST":

            def create(n, item):
                sobject = record_type(item)
                body = {k: v for k, v in item.items() if k != "attributes"}
                return {"id": org.create(sobject, body), "success": True, "errors": []}

            results = run_collection(request, records, all_or_none, create)
            done(request, "collections.create")
            return results

        def update(n, item):
            sobject = record_type(item)
            body = {k: v for k, v in item.items() if k not in ("attributes", "id", "Id")}
            record_id = item.get("id") or item.get("Id")
            if not record_id:
                raise SFError("MISSING_ARGUMENT", "Id not specified in an update call", [])
            return {"id": org.update(sobject, record_id, body), "success": True, "errors": []}

        results = run_collection(request, records, all_or_none, update)
        done(request, "collections.update")
        return results

    @route(app, base + "/composite/sobjects/{sobject}", ["GET", "POST"])
    async def collections_retrieve(request: Request, version: str, sobject: str):
        obj = org.obj(sobject)
        mark(request, f"collections.retrieve.{obj.name}", write=False)
        if request.method == "POST":
            body = await json_body(request)
            ids, fields = body.get("ids") or [], body.get("fields") or []
        else:
            ids = [i for i in request.query_params.get("ids", "").split(",") if i]
            fields = [f for f in request.query_params.get("fields", "").split(",") if f]
        if not fields:
            raise SFError("MALFORMED_QUERY", "fields parameter is required")
        out = []
        for record_id in ids:
            full = to18(record_id)
            rec = org.store.get(obj.name, full) if full else None
            out.append(
                svc.render(obj, rec, version, fields) if rec and not rec.get("IsDeleted") else None
            )
        return out

    @route(app, base + "/composite/sobjects/{sobject}/{ext_field}", ["PATCH"])
    async def collections_upsert(request: Request, version: str, sobject: str, ext_field: str):
        obj = org.obj(sobject)
        f = obj.field(ext_field)
        if f is None:
            raise SFError("INVALID_FIELD", f"No such column '{ext_field}' on entity '{obj.name}'")
        if not f.external_id and f.name != "Id":
            raise SFError("INVALID_FIELD", f"Field {f.name} is not an external id field", [f.name])
        records, all_or_none = collection_records(await json_body(request))

        def upsert(n, item):
            item_type = record_type(item, obj.name)
            if item_type != obj.name:
                raise SFError("INVALID_TYPE", f"Record type {item_type} does not match {obj.name}")
            body = {k: v for k, v in item.items() if k != "attributes"}
            value = None
            for key in list(body):
                if key.lower() == f.name.lower():
                    value = body.pop(key)
            if value in (None, ""):
                raise SFError("MISSING_ARGUMENT", f"{f.name} not specified", [f.name])
            record_id, created = org.upsert(obj.name, f.name, value, body, url_value=False)
            return {"id": record_id, "success": True, "errors": [], "created": created}

        results = run_collection(request, records, all_or_none, upsert)
        done(request, f"collections.upsert.{obj.name}")
        return results

    # --- sObject Tree -------------------------------------------------------------------------
    @route(app, base + "/composite/tree/{sobject}", ["POST"])
    async def tree(request: Request, version: str, sobject: str):
        """api-notes 3.7: nested parent/child records created all or nothing (at most 200)."""
        obj = org.obj(sobject)
        body = await json_body(request)
        roots = body.get("records") if isinstance(body, dict) else None
        if not isinstance(roots, list):
            raise SFError("JSON_PARSER_ERROR", "Expected a JSON object with a 'records' array")

        def count(records) -> int:
            total = 0
            for rec in records:
                total += 1
                for value in rec.values() if isinstance(rec, dict) else ():
                    if isinstance(value, dict) and isinstance(value.get("records"), list):
                        total += count(value["records"])
            return total

        if count(roots) > MAX_COLLECTION:
            raise SFError(
                "EXCEEDED_ID_LIMIT",
                "record limit reached. cannot submit more than "
                f"{MAX_COLLECTION} records in this operation",
            )
        results: list[dict] = []
        errors: list[dict] = []

        def insert(node_obj, rec: dict, parent_field: str | None, parent_id: str | None) -> None:
            attrs = rec.get("attributes") or {}
            ref = attrs.get("referenceId")
            if attrs.get("type") and attrs["type"].lower() != node_obj.name.lower():
                errors.append(
                    {
                        "referenceId": ref,
                        "errors": [
                            SFError(
                                "INVALID_TYPE",
                                f"Record type {attrs['type']} does not match {node_obj.name}",
                            ).save_error()
                        ],
                    }
                )
                return
            fields, children = {}, []
            for key, value in rec.items():
                if key == "attributes":
                    continue
                if isinstance(value, dict) and isinstance(value.get("records"), list):
                    children.append((key, value["records"]))
                else:
                    fields[key] = value
            if parent_field:
                fields[parent_field] = parent_id
            try:
                new_id = org.create(node_obj.name, fields)
            except SFError as exc:
                errors.append({"referenceId": ref, "errors": [exc.save_error()]})
                return
            results.append({"referenceId": ref, "id": new_id})
            for rel_name, records in children:
                rel = next(
                    (
                        c
                        for c in node_obj.child_relationships
                        if c.relationship_name and c.relationship_name.lower() == rel_name.lower()
                    ),
                    None,
                )
                if rel is None:
                    errors.append(
                        {
                            "referenceId": ref,
                            "errors": [
                                SFError(
                                    "INVALID_FIELD",
                                    f"No such relationship {rel_name} on {node_obj.name}",
                                ).save_error()
                            ],
                        }
                    )
                    continue
                child_obj = org.obj(rel.child_sobject)
                for child in records:
                    insert(child_obj, child, rel.field, new_id)

        with org.transaction():
            for rec in roots:
                insert(obj, rec if isinstance(rec, dict) else {}, None, None)
            if errors:
                org.rollback()
        if errors:
            mark(request, f"tree.create.{obj.name}", write=False)
            return JSONResponse({"hasErrors": True, "results": errors}, status_code=400)
        done(request, f"tree.create.{obj.name}")
        return JSONResponse({"hasErrors": False, "results": results}, status_code=201)
