"""Bulk API 2.0 ingest and query jobs, as ``simple_salesforce.bulk2`` drives them (api-notes 3.12).

Jobs run synchronously: an ingest job is processed when it is closed (``UploadComplete``) and
reports ``JobComplete`` on the first poll; a query job runs when it is created. Rows go through
the same validation as the REST API, so a bad row fails with the same error code, reported in
``failedResults`` as ``CODE:message:fields --``. Jobs live in memory (not across a restart).
"""

from __future__ import annotations

import csv
import io
from typing import TYPE_CHECKING

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response

from ..common.service import mark
from .errors import SFError, not_found
from .ids import make_id
from .rest import json_body, route
from .soql import Aggregate, FieldRef, Parser, SubQuery

if TYPE_CHECKING:
    from .service import SalesforceService

DELIMITERS = {
    "COMMA": ",",
    "TAB": "\t",
    "PIPE": "|",
    "SEMICOLON": ";",
    "CARET": "^",
    "BACKQUOTE": "`",
}
OPERATIONS = ("insert", "update", "upsert", "delete", "hardDelete")


def _cell(value) -> str:
    if value is None:
        return ""
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, str) and len(value) == 28 and value.endswith("+0000") and value[10] == "T":
        return value[:-5] + "Z"
    return str(value)


def _csv(rows: list[list[str]], delimiter: str = ",", line_ending: str = "\n") -> str:
    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter, lineterminator=line_ending, quoting=csv.QUOTE_ALL)
    writer.writerows(rows)
    return out.getvalue()


def install(app: FastAPI, svc: SalesforceService) -> None:
    org = svc.org
    base = "/services/data/v{version}/jobs"
    counter = {"n": 0}

    def new_job(kind: str, version: str, body: dict) -> dict:
        counter["n"] += 1
        now = org.now()
        job = {
            "id": make_id("750", counter["n"] + len(svc.jobs)),
            "operation": body.get("operation"),
            "object": body.get("object"),
            "createdById": org.user_id,
            "createdDate": now,
            "systemModstamp": now,
            "state": "Open" if kind == "ingest" else "UploadComplete",
            "concurrencyMode": "Parallel",
            "contentType": "CSV",
            "apiVersion": float(version),
            "jobType": "V2Ingest" if kind == "ingest" else "V2Query",
            "lineEnding": body.get("lineEnding") or "LF",
            "columnDelimiter": body.get("columnDelimiter") or "COMMA",
            "numberRecordsProcessed": 0,
            "numberRecordsFailed": 0,
            "retries": 0,
            "totalProcessingTime": 0,
            "apiActiveProcessingTime": 0,
            "apexProcessingTime": 0,
        }
        if kind == "ingest":
            job["contentUrl"] = f"services/data/v{version}/jobs/ingest/{job['id']}/batches"
            if body.get("externalIdFieldName"):
                job["externalIdFieldName"] = body["externalIdFieldName"]
        else:
            job["query"] = body.get("query")
        svc.jobs[job["id"]] = {"kind": kind, "info": job, "data": b"", "results": None}
        return job

    def get_job(kind: str, job_id: str) -> dict:
        job = svc.jobs.get(job_id)
        if job is None or job["kind"] != kind:
            raise not_found()
        return job

    def public(job: dict) -> dict:
        info = dict(job["info"])
        if info["jobType"] == "V2Query":
            info.pop("numberRecordsFailed", None)
        return info

    # --- ingest ------------------------------------------------------------------------------
    @route(app, base + "/ingest", ["POST", "GET"])
    async def create_ingest(request: Request, version: str):
        if request.method == "GET":
            mark(request, "bulk2.ingest.list", write=False)
            return {
                "done": True,
                "nextRecordsUrl": None,
                "records": [public(j) for j in svc.jobs.values() if j["kind"] == "ingest"],
            }
        body = await json_body(request)
        if body.get("operation") not in OPERATIONS:
            raise SFError("INVALIDJOB", f"InvalidJob : Invalid operation: {body.get('operation')}")
        obj = org.obj(body.get("object") or "")
        body["object"] = obj.name
        if body.get("contentType", "CSV") != "CSV":
            raise SFError("INVALIDJOB", "InvalidJob : contentType must be CSV")
        if body.get("columnDelimiter", "COMMA") not in DELIMITERS:
            raise SFError("INVALIDJOB", "InvalidJob : invalid columnDelimiter")
        if body["operation"] == "upsert":
            ext = obj.field(body.get("externalIdFieldName") or "")
            if ext is None or not (ext.external_id or ext.name == "Id"):
                raise SFError(
                    "INVALIDJOB",
                    "InvalidJob : External ID was blank or invalid for "
                    f"{obj.name}: {body.get('externalIdFieldName')}",
                )
            body["externalIdFieldName"] = ext.name
        mark(request, "bulk2.ingest.create", write=False)
        return new_job("ingest", version, body)

    @route(app, base + "/ingest/{job_id}/batches", ["PUT"])
    async def upload(request: Request, version: str, job_id: str):
        job = get_job("ingest", job_id)
        if job["info"]["state"] != "Open":
            raise SFError("INVALIDJOB", "InvalidJob : Upload is only allowed while the job is Open")
        job["data"] += await request.body()
        mark(request, "bulk2.ingest.upload", write=False)
        return Response(status_code=201)

    @route(app, base + "/ingest/{job_id}", ["GET", "PATCH", "DELETE"])
    async def ingest_job(request: Request, version: str, job_id: str):
        job = get_job("ingest", job_id)
        if request.method == "GET":
            mark(request, "bulk2.ingest.status", write=False)
            return public(job)
        if request.method == "DELETE":
            mark(request, "bulk2.ingest.delete", write=False)
            if job["info"]["state"] in ("Open", "UploadComplete", "InProgress"):
                raise SFError("INVALIDJOB", "InvalidJob : cannot delete a job that is in progress")
            svc.jobs.pop(job_id, None)
            return Response(status_code=204)
        body = await json_body(request)
        state = body.get("state")
        info = job["info"]
        if state == "Aborted":
            mark(request, "bulk2.ingest.abort", write=False)
            if info["state"] in ("JobComplete", "Failed"):
                raise SFError("INVALIDJOB", "InvalidJob : job is already complete")
            info["state"] = "Aborted"
            return public(job)
        if state != "UploadComplete" or info["state"] != "Open":
            raise SFError("INVALIDJOB", f"InvalidJob : cannot change state to {state}")
        info["state"] = "UploadComplete"
        answer = public(job)
        written = process_ingest(job)
        mark(request, "bulk2.ingest.close", write=True)
        if written:
            svc.ctx.admin.count("records.written", written)
        return answer

    def process_ingest(job: dict) -> int:
        info = job["info"]
        started = org.clock.timestamp()
        delimiter = DELIMITERS[info["columnDelimiter"]]
        text = job["data"].decode("utf-8-sig")
        reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
        rows = list(reader)
        job["data"] = b""
        if not rows:
            info.update(
                state="Failed",
                errorMessage="InvalidBatch : Records not processed: the CSV has no header row",
            )
            return 0
        header, rows = rows[0], [r for r in rows[1:] if r != []]
        obj = org.obj(info["object"])
        for column in header:
            name = column.partition(".")[0]
            known = (
                obj.field(name) is not None
                if "." not in column
                else any(
                    f.relationship_name and f.relationship_name.lower() == name.lower()
                    for f in obj.fields.values()
                )
            )
            if not known:
                info.update(
                    state="Failed",
                    numberRecordsProcessed=0,
                    errorMessage=f"InvalidBatch : Field name not found : {column}",
                )
                return 0
        op = info["operation"]
        ok: list[list[str]] = []
        failed: list[list[str]] = []
        for row in rows:
            values = dict(zip(header, row + [""] * (len(header) - len(row)), strict=False))
            try:
                with org.atomic():
                    record_id, created = ingest_row(obj, op, values, info)
                ok.append([record_id, "true" if created else "false", *row])
            except SFError as exc:
                error = f"{exc.code}:{exc.message}:{','.join(exc.fields)} --"
                failed.append([values.get("Id", "") if op != "insert" else "", error, *row])
        org.flush()
        job["results"] = {
            "header": header,
            "successful": ok,
            "failed": failed,
        }
        info.update(
            state="JobComplete",
            numberRecordsProcessed=len(rows),
            numberRecordsFailed=len(failed),
            totalProcessingTime=int((org.clock.timestamp() - started) * 1000),
        )
        info["systemModstamp"] = org.now()
        return len(ok)

    def ingest_row(obj, op: str, values: dict, info: dict) -> tuple[str, bool]:
        if op in ("delete", "hardDelete"):
            record_id = org.record(obj.name, values.get("Id") or values.get("id") or "")["Id"]
            org.delete(obj.name, record_id)
            if op == "hardDelete":
                org.hard_delete(obj.name, record_id)
            return record_id, False
        fields = resolve_columns(obj, values)
        if op == "insert":
            return org.create(obj.name, fields, csv=True), True
        if op == "update":
            record_id = None
            for key in list(fields):
                if key.lower() == "id":
                    record_id = fields.pop(key)
            if not record_id:
                raise SFError("MISSING_ARGUMENT", "Id not specified in an update call")
            return org.update(obj.name, record_id, fields, csv=True), False
        ext = info["externalIdFieldName"]
        value = None
        for key in list(fields):
            if key.lower() == ext.lower():
                value = fields.pop(key)
        if not value:
            raise SFError("MISSING_ARGUMENT", f"{ext} not specified", [ext])
        return org.upsert(obj.name, ext, value, fields, csv=True, url_value=False)

    def resolve_columns(obj, values: dict) -> dict:
        """Plain columns pass through; ``Rel.ExtField`` columns become the lookup's Id."""
        out = {}
        for key, value in values.items():
            if "." not in key:
                out[key] = value
                continue
            rel, _, ext_name = key.partition(".")
            ref_field, target = org.engine.relationship(obj, rel)
            if value == "":
                continue
            ext = target.field(ext_name)
            if ext is None or not (ext.external_id or ext.name == "Id"):
                raise SFError(
                    "INVALID_FIELD",
                    f"Field name provided, {ext_name} is not an External "
                    f"ID or indexed field for {target.name}",
                    [ref_field.name],
                )
            matches = org.find_by(target.name, ext.name, value)
            if not matches:
                raise SFError(
                    "INVALID_FIELD",
                    f"Foreign key external ID: {value} not found for "
                    f"field {ext.name} in entity {target.name}",
                    [ref_field.name],
                )
            if len(matches) > 1:
                raise SFError(
                    "INVALID_FIELD",
                    f"More than 1 record found for external id field: "
                    f"{ext.name} with value: {value}",
                    [ref_field.name],
                )
            out[ref_field.name] = matches[0]["Id"]
        return out

    def ingest_results(job_id: str, which: str) -> Response:
        job = get_job("ingest", job_id)
        results = job["results"]
        info = job["info"]
        delimiter = DELIMITERS[info["columnDelimiter"]]
        ending = "\r\n" if info["lineEnding"] == "CRLF" else "\n"
        if which == "unprocessed":
            rows = [results["header"]] if results else []
        elif results is None:
            rows = []
        elif which == "successful":
            rows = [["sf__Id", "sf__Created", *results["header"]], *results["successful"]]
        else:
            rows = [["sf__Id", "sf__Error", *results["header"]], *results["failed"]]
        return Response(_csv(rows, delimiter, ending), media_type="text/csv")

    @route(app, base + "/ingest/{job_id}/successfulResults", ["GET"])
    async def successful(request: Request, version: str, job_id: str):
        mark(request, "bulk2.ingest.results", write=False)
        return ingest_results(job_id, "successful")

    @route(app, base + "/ingest/{job_id}/failedResults", ["GET"])
    async def failed_results(request: Request, version: str, job_id: str):
        mark(request, "bulk2.ingest.results", write=False)
        return ingest_results(job_id, "failed")

    @route(app, base + "/ingest/{job_id}/{name}", ["GET"])
    async def unprocessed(request: Request, version: str, job_id: str, name: str):
        if name.lower() != "unprocessedrecords":
            raise not_found()
        mark(request, "bulk2.ingest.results", write=False)
        return ingest_results(job_id, "unprocessed")

    # --- query -------------------------------------------------------------------------------
    @route(app, base + "/query", ["POST", "GET"])
    async def create_query(request: Request, version: str):
        if request.method == "GET":
            mark(request, "bulk2.query.list", write=False)
            return {
                "done": True,
                "nextRecordsUrl": None,
                "records": [public(j) for j in svc.jobs.values() if j["kind"] == "query"],
            }
        body = await json_body(request)
        if body.get("operation") not in ("query", "queryAll"):
            raise SFError("INVALIDJOB", f"InvalidJob : Invalid operation: {body.get('operation')}")
        if not body.get("query"):
            raise SFError("INVALIDJOB", "InvalidJob : query is required")
        if body.get("columnDelimiter", "COMMA") not in DELIMITERS:
            raise SFError("INVALIDJOB", "InvalidJob : invalid columnDelimiter")
        mark(request, "bulk2.query.create", write=False)
        # a query that does not parse or names unknown fields is refused up front, as the REST
        # API does; unsupported-but-valid SOQL (subqueries, aggregates, OFFSET) fails the job.
        parsed = Parser(body["query"]).parse()
        obj = org.engine.obj(parsed.sobject)
        body["object"] = obj.name
        job = new_job("query", version, body)
        run_query(svc.jobs[job["id"]], parsed, obj)
        return public(svc.jobs[job["id"]])

    def run_query(job: dict, parsed, obj) -> None:
        info = job["info"]
        text = info["query"]
        if (
            any(isinstance(i, SubQuery | Aggregate) for i in parsed.items)
            or parsed.offset
            or parsed.count_only
        ):
            info.update(
                state="Failed",
                errorMessage="Bulk API 2.0 does not support subqueries, "
                "aggregate functions, COUNT() or OFFSET in a query job",
            )
            return
        refs = [i for i in parsed.items if isinstance(i, FieldRef)]
        resolved = [org.engine.resolve(obj, r, text) for r in refs]
        getters = [org.engine.getter(r) for r in resolved]
        rows = org.engine.filter(obj, parsed, text, None, info["operation"] == "queryAll")
        rows = org.engine.order_and_cut(obj, parsed, text, rows)
        lines = [[_cell(g(r)) for g in getters] for r in rows]
        job["results"] = {"header": [".".join(r.names) for r in resolved], "rows": lines}
        info.update(state="JobComplete", numberRecordsProcessed=len(lines))

    @route(app, base + "/query/{job_id}", ["GET", "PATCH", "DELETE"])
    async def query_job(request: Request, version: str, job_id: str):
        job = get_job("query", job_id)
        if request.method == "GET":
            mark(request, "bulk2.query.status", write=False)
            return public(job)
        if request.method == "DELETE":
            mark(request, "bulk2.query.delete", write=False)
            svc.jobs.pop(job_id, None)
            return Response(status_code=204)
        body = await json_body(request)
        mark(request, "bulk2.query.abort", write=False)
        if body.get("state") != "Aborted":
            raise SFError("INVALIDJOB", "InvalidJob : only Aborted can be set on a query job")
        if job["info"]["state"] in ("JobComplete", "Failed"):
            raise SFError("INVALIDJOB", "InvalidJob : job is already complete")
        job["info"]["state"] = "Aborted"
        return public(job)

    @route(app, base + "/query/{job_id}/results", ["GET"])
    async def query_results(request: Request, version: str, job_id: str):
        job = get_job("query", job_id)
        mark(request, "bulk2.query.results", write=False)
        info = job["info"]
        if info["state"] != "JobComplete":
            return JSONResponse(
                [
                    {
                        "errorCode": "INVALIDJOB",
                        "message": f"InvalidJob : job is in state {info['state']}",
                    }
                ],
                status_code=400,
            )
        results = job["results"]
        start = request.query_params.get("locator") or "0"
        if not start.isdigit():
            raise SFError("INVALIDLOCATOR", "InvalidLocator : invalid locator")
        start = int(start)
        max_records = request.query_params.get("maxRecords")
        size = int(max_records) if max_records and max_records.isdigit() else len(results["rows"])
        chunk = results["rows"][start : start + max(size, 1)]
        end = start + len(chunk)
        locator = str(end) if end < len(results["rows"]) else "null"
        delimiter = DELIMITERS[info["columnDelimiter"]]
        ending = "\r\n" if info["lineEnding"] == "CRLF" else "\n"
        return Response(
            _csv([results["header"], *chunk], delimiter, ending),
            media_type="text/csv",
            headers={"Sforce-NumberOfRecords": str(len(chunk)), "Sforce-Locator": locator},
        )
