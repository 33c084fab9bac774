"""The sync log page as HTML (pure; R-OPS-2, R-OPS-3): one section per run, from ``run_view``.

Server-rendered, one document with its style and script inline (``static/``): no build step,
nothing fetched from another host, so it works offline and inside the Airflow UI's iframe.
Every text that comes from a run (record keys, reasons, run ids, task errors) is escaped.

Stable ``data-testid`` attributes, for browser tests and screenshots:

- ``sync-log``: the page; ``pagination``: the newer/older links of the runs list;
  ``dag-filter``: the links that show one DAG's runs;
- ``run``: one run (a ``<details>``, the newest open), with ``data-dag-id``, ``data-run-id``
  and ``data-state``; ``run-header``: its header line (DAG, run type, state, start, duration,
  run id); ``run-window``: the time it covered and the install date;
- ``web-connector``: a Desktop run's Web Connector: its last poll and its sessions' errors;
- ``install-date-notice``: a backfill whose interval lies (partly) before the install date;
- ``counts-table``: counts per area and record type; ``checks``: the reconciliation's line;
- ``warnings-table``, ``warning-row`` (with ``data-area``, ``data-level``, ``data-state``),
  ``warning-filters`` (area, level, state, text), ``warning-shown`` (how many rows show);
- ``dry-run-notice``: a migration's dry run and what it would have written;
- ``failed-tasks``: the failed tasks, their tries, log links and last ERROR lines;
- ``run-progress``: a running run's tasks done of total and the running ones;
- ``no-summary``: a run without a summary, and why;
- ``not-sfqb-notice``: the tab of a DAG run that is not sfqb's.
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Mapping
from functools import cache
from importlib import resources
from typing import Any
from urllib.parse import urlencode

from sfqb.synclog.view import (
    DAG_IDS,
    LEVEL_ORDER,
    LEVELS,
    NAV_ROUTE,
    STATE_ORDER,
    areas_of,
    duration,
    readable,
    ui_sync_log_url,
)
from sfqb.warning_state import NEW, RESOLVED, STANDING, STATES

STATE_LABELS = {NEW: "new", STANDING: "standing", RESOLVED: "resolved"}


@cache
def _asset(name: str) -> str:
    return resources.files("sfqb.synclog").joinpath("static", name).read_text(encoding="utf-8")


def _e(value: Any) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def _time(value: str | None) -> str:
    """A ``<time>`` in UTC text; the page's script shows it in the viewer's time zone."""
    if not value:
        return ""
    return f'<time datetime="{_e(value)}" data-local>{_e(readable(value))}</time>'


def _pill(text: str, kind: str) -> str:
    return f'<span class="pill pill-{_e(kind)}">{_e(text)}</span>'


def _link(href: str, text: str, *, external: bool = False, cls: str = "") -> str:
    """A link; ``external`` ones open a new tab, Airflow UI ones replace the whole UI (the page
    runs in the UI's sandboxed iframe: its script opens them from the parent page)."""
    target = "_blank" if external else "_top"
    klass = f' class="{_e(cls)}"' if cls else ""
    return f'<a href="{_e(href)}" target="{target}" rel="noopener"{klass}>{_e(text)}</a>'


# --- header and window -------------------------------------------------------------------------


def _header(view: Mapping[str, Any], *, as_summary: bool) -> str:
    tag = "summary" if as_summary else "header"
    parts = [
        f'<span class="dag">{_e(view["dag_id"])}</span>',
        _pill(view["state"] or "no state", f"state-{view['state'] or 'none'}"),
        f'<span class="muted">{_e(view["run_type"])}</span>',
    ]
    if view["start"]:
        parts.append(f"<span>started {_time(view['start'])}</span>")
    if view["running"] and view["duration_seconds"] is not None:
        parts.append(
            f'<span data-running-since="{_e(view["start"])}">running for '
            f"{_e(duration(view['duration_seconds']))}</span>"
        )
    elif view["duration_seconds"] is not None:
        parts.append(f"<span>took {_e(duration(view['duration_seconds']))}</span>")
    totals = view["warning_totals"]
    if any(totals.values()):
        brief = ", ".join(f"{totals[s]} {STATE_LABELS[s]}" for s in STATES if totals[s])
        parts.append(f'<span class="muted">warnings: {_e(brief)}</span>')
    parts.append(f'<code class="run-id" title="run id">{_e(view["run_id"])}</code>')
    return f'<{tag} class="run-head" data-testid="run-header">{" ".join(parts)}</{tag}>'


def _window(view: Mapping[str, Any]) -> str:
    window = view["window"]
    lines = []
    if window["backfill"] and window["data_interval_start"]:
        lines.append(
            f"Backfill of {_time(window['data_interval_start'])} to "
            f"{_time(window['data_interval_end'])} (its data interval; no watermark moves)."
        )
    elif window["upper_bound"]:
        lines.append(
            f"Changes up to {_time(window['upper_bound'])}, from each area's last watermark."
        )
    if view["scope"]:
        lines.append(f"Asked to run: {_e(view['scope'])}.")
    if window["install_date"]:
        lines.append(
            f"Install date {_time(window['install_date'])}: nothing older is synced (R-GEN-6)."
        )
    streams = window["areas"]
    if streams:
        items = "".join(
            f"<li>{_e(s['area'])} {_e(s['stream'])}: "
            + (
                f"{_time(s['start'])} to {_time(s['end'])} ({_e(s.get('mode', ''))})"
                if s.get("start")
                else "nothing to read"
            )
            + "</li>"
            for s in streams
        )
        lines.append(f'<ul class="streams">{items}</ul>')
    out = (
        f'<div class="window" data-testid="run-window">{"<br>".join(lines)}</div>' if lines else ""
    )
    before = window["before_install"]
    if before:
        what = (
            "This backfill's interval lies before the install date: nothing before the "
            "install date is synced, so this run read nothing."
            if before == "all"
            else "Part of this backfill's interval lies before the install date: nothing "
            "before the install date is synced, so only the rest was read."
        )
        out += f'<p class="notice notice-warn" data-testid="install-date-notice">{_e(what)}</p>'
    return out


# --- tasks -------------------------------------------------------------------------------------


def _failed(view: Mapping[str, Any]) -> str:
    progress = view["progress"]
    if not progress["failed"]:
        return ""
    items = []
    for task in progress["failed"]:
        name = task["task_id"] + (f" [{task['map_index']}]" if task["map_index"] >= 0 else "")
        head = (
            f'<code class="task">{_e(name)}</code> failed on try {_e(task["try_number"])}'
            + (f", {_time(task['ended'])}" if task["ended"] else "")
            + f" · {_link(task['log_url'], 'its log')}"
        )
        errors = "".join(f"<li>{_e(line)}</li>" for line in task["errors"])
        items.append(
            f"<li>{head}" + (f'<ul class="errors">{errors}</ul>' if errors else "") + "</li>"
        )
    upstream = progress["upstream_failed"]
    tail = (
        f"<p>{upstream} task{'s' if upstream != 1 else ''} did not run (upstream failed).</p>"
        if upstream
        else ""
    )
    return (
        '<section class="notice notice-error" data-testid="failed-tasks">'
        f"<h3>Failed task{'s' if len(items) != 1 else ''}</h3><ul>{''.join(items)}</ul>{tail}"
        "</section>"
    )


def _progress(view: Mapping[str, Any]) -> str:
    progress = view["progress"]
    if not view["running"] or not progress["total"]:
        return ""
    busy = ", ".join(
        f"{t['task_id']}"
        + (f" [{t['map_index']}]" if t["map_index"] >= 0 else "")
        + ("" if t["state"] == "running" else f" ({t['state'].replace('_', ' ')})")
        for t in progress["busy"]
    )
    return (
        '<p class="notice" data-testid="run-progress">'
        f'<progress max="{progress["total"]}" value="{progress["done"]}"></progress> '
        f"{progress['done']} of {progress['total']} tasks done"
        + (f"; now: <code>{_e(busy)}</code>" if busy else "")
        + "</p>"
    )


def _no_summary(view: Mapping[str, Any]) -> str:
    if view["has_summary"]:
        return ""
    if view["running"]:
        why = "No summary yet: the run has not reached summarize_run."
    elif view["progress"]["failed"]:
        why = "No summary: the run failed before summarize_run (the failed tasks are above)."
    else:
        why = "No summary: the run did not reach summarize_run (see its task logs)."
    return f'<p class="muted" data-testid="no-summary">{_e(why)}</p>'


# --- migration -------------------------------------------------------------------------------


def _dry_run(view: Mapping[str, Any]) -> str:
    dry = view["dry_run"]
    if dry is None:
        return ""
    rows = "".join(
        f'<tr><td>{_e(record)}</td><td class="num" data-sort="{int(n)}">{int(n):,}</td></tr>'
        for record, n in dry["would_write"].items()
    )
    table = (
        '<table class="compact"><thead><tr><th>record</th><th class="num">would write</th>'
        f"</tr></thead><tbody>{rows}</tbody></table>"
        if rows
        else ""
    )
    return (
        '<section class="notice notice-info" data-testid="dry-run-notice">'
        "<strong>Dry run: nothing was written.</strong> What a real run would write:"
        f"{table}</section>"
    )


def _migration(view: Mapping[str, Any]) -> str:
    out = []
    for entry in view["migration"]:
        facts = ", ".join(f"{f['value']:,} {f['name']}" for f in entry["facts"])
        text = f"{entry['area']}: {facts}" if facts else entry["area"]
        if entry["message"]:
            text += f". {entry['message']}"
        out.append(f'<p class="facts">{_e(text)}</p>')
    return "".join(out)


# --- counts ------------------------------------------------------------------------------------


def _sort_button(label: str, kind: str, cls: str = "") -> str:
    klass = f' class="{cls}"' if cls else ""
    return (
        f'<th{klass} aria-sort="none"><button type="button" data-sort="{kind}">'
        f"{_e(label)}</button></th>"
    )


def _counts(view: Mapping[str, Any]) -> str:
    counts = view["counts"]
    out = ""
    if counts["rows"]:
        columns = counts["columns"]
        head = (
            _sort_button("area", "text")
            + _sort_button("record", "text")
            + "".join(_sort_button(c, "number", "num") for c in columns)
        )
        body = "".join(
            f'<tr><td data-sort="{_e(r["area"])}">{_e(r["area"])}</td>'
            f'<td data-sort="{_e(r["record"])}">{_e(r["record"])}</td>'
            + "".join(
                f'<td class="num" data-sort="{int(r["counts"].get(c, 0))}">'
                f"{int(r['counts'].get(c, 0)):,}</td>"
                for c in columns
            )
            + "</tr>"
            for r in counts["rows"]
        )
        out += (
            '<table class="sortable counts" data-testid="counts-table">'
            f"<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
        )
    if counts["idle_areas"]:
        out += f'<p class="muted">Nothing to write: {_e(", ".join(counts["idle_areas"]))}.</p>'
    if counts["checks"]:
        items = "".join(f"<li>{_e(c['area'])}: {_e(c['verdict'])}</li>" for c in counts["checks"])
        out += f'<ul class="checks" data-testid="checks">{items}</ul>'
    if (
        view["has_summary"]
        and not counts["rows"]
        and not counts["checks"]
        and not view["migration"]
    ):
        out += '<p class="muted">No sync area ran: nothing was read or written.</p>'
    return out


# --- warnings ----------------------------------------------------------------------------------


def _state_cell(row: Mapping[str, Any], view: Mapping[str, Any], ui_base: str) -> str:
    state = row["state"]
    if not state:
        return '<td data-sort="3">&ndash;</td>'
    since = row["since"] or ""
    text = _pill(STATE_LABELS.get(state, state), f"warn-{state}")
    if state == STANDING:
        # Since the run that first found it: its time, linked to that run's sync log.
        first = row["since_run"] if row["since_run"] != view["run_id"] else None
        when = _time(row["since"]) if row["since"] else _e(first or "")
        if first:
            url = ui_sync_log_url(ui_base, view["dag_id"], first)
            when = (
                f'<a href="{_e(url)}" target="_top" rel="noopener" class="run-link" '
                f'title="first found by run {_e(first)}">{when}</a>'
            )
        text += f" since {when}" if when else ""
        if not row["checked"]:
            text += '<br><span class="muted">not looked at again in this run</span>'
    elif state == RESOLVED and row["since"]:
        text += f' <span class="muted">open since {_time(row["since"])}</span>'
    return f'<td class="state" data-sort="{STATE_ORDER.get(state, 3)} {_e(since)}">{text}</td>'


def _warnings(view: Mapping[str, Any], *, ui_base: str, index: int) -> str:
    rows = view["warnings"]
    totals = view["warning_totals"]
    if not rows and not any(totals.values()):
        return '<p class="muted">Warnings: none.</p>' if view["has_summary"] else ""
    listed = {s: sum(r["state"] == s for r in rows) for s in STATES}
    brief = ", ".join(
        f"{totals[s]} {STATE_LABELS[s]}"
        + (f" ({listed[s]} listed)" if totals[s] > listed[s] else "")
        for s in STATES
    )
    head = f'<h3>Warnings <span class="muted">{_e(brief)}</span></h3>'
    if not rows:
        return head
    prefix = f"r{index}"
    areas = "".join(f'<option value="{_e(a)}">{_e(a)}</option>' for a in areas_of(rows))
    levels = "".join(f'<option value="{lv}">{lv}</option>' for lv in LEVELS)
    states = "".join(f'<option value="{s}">{STATE_LABELS[s]}</option>' for s in STATES if listed[s])
    filters = (
        f'<form class="filters" data-testid="warning-filters" data-for="{prefix}-warnings">'
        f'<label>area <select name="area"><option value="">all</option>{areas}</select></label>'
        f'<label>level <select name="level"><option value="">all</option>{levels}</select></label>'
        f'<label>state <select name="state"><option value="">all</option>{states}</select></label>'
        f'<label class="grow">text <input type="search" name="q" placeholder="record, rule, reason"'
        ' autocomplete="off"></label>'
        f'<output data-testid="warning-shown">{len(rows)} of {len(rows)} shown</output>'
        "</form>"
    )
    head_row = (
        _sort_button("area", "text")
        + _sort_button("record", "text")
        + _sort_button("rule", "text")
        + '<th class="reason">reason</th>'
        + _sort_button("level", "number")
        + _sort_button("state", "text")
    )
    body = []
    for row in rows:
        record = (
            _link(row["url"], row["key"], external=True)
            if row["url"]
            else (_e(row["key"]) or '<span class="muted">&ndash;</span>')
        )
        body.append(
            f'<tr data-testid="warning-row" data-area="{_e(row["area"])}" '
            f'data-level="{_e(row["level"])}" data-state="{_e(row["state"])}">'
            f'<td data-sort="{_e(row["area"])}">{_e(row["area"])}</td>'
            f'<td class="key" data-sort="{_e(row["key"])}">{record}</td>'
            f'<td class="rule" data-sort="{_e(row["rule"])}">{_e(row["rule"])}</td>'
            f'<td class="reason">{_e(row["reason"])}</td>'
            f'<td class="level" data-sort="{LEVEL_ORDER.get(row["level"], 2)}">'
            f"{_pill(row['level'], 'level-' + row['level'].lower())}</td>"
            f"{_state_cell(row, view, ui_base)}</tr>"
        )
    table = (
        f'<table class="sortable warnings" id="{prefix}-warnings" data-testid="warnings-table">'
        f"<thead><tr>{head_row}</tr></thead><tbody>{''.join(body)}</tbody></table>"
    )
    return f'<section class="warnings-block">{head}{filters}{table}</section>'


# --- the page ----------------------------------------------------------------------------------


def _web_connector(view: Mapping[str, Any]) -> str:
    status = view.get("web_connector")
    if not status:
        return ""
    css = "window error" if status["errors"] else "window"
    return f'<div class="{css}" data-testid="web-connector">{_e(status["text"])}</div>'


def render_run(
    view: Mapping[str, Any], *, ui_base: str = "", index: int = 0, open_: bool = True
) -> str:
    """One run: a ``<details>`` whose summary line is the header (open: shown unfolded)."""
    body = "".join(
        (
            _window(view),
            _web_connector(view),
            _failed(view),
            _progress(view),
            _dry_run(view),
            _migration(view),
            _no_summary(view),
            _counts(view),
            _warnings(view, ui_base=ui_base, index=index),
            f'<p class="muted">{_link(view["ui_url"], "Open this run in Airflow")}</p>',
        )
    )
    return (
        f'<details class="run" data-testid="run" data-dag-id="{_e(view["dag_id"])}" '
        f'data-run-id="{_e(view["run_id"])}" data-state="{_e(view["state"])}"'
        + (" open" if open_ else "")
        + f'>{_header(view, as_summary=True)}<div class="run-body">{body}</div></details>'
    )


def _document(title: str, body: str) -> str:
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{_e(title)}</title><style>{_asset('page.css')}</style>"
        f"<script>{_asset('theme.js')}</script></head>"
        f'<body><main class="sync-log" data-testid="sync-log">{body}</main>'
        f"<script>{_asset('page.js')}</script></body></html>"
    )


def _pagination(
    base: str, *, total: int, offset: int, limit: int, shown: int, dag_id: str | None
) -> str:
    def href(at: int) -> str:
        query = {"limit": limit, "offset": at, **({"dag_id": dag_id} if dag_id else {})}
        return f"{base}/runs?{urlencode(query)}"

    links = []
    if offset > 0:
        links.append(f'<a href="{_e(href(max(offset - limit, 0)))}">&larr; newer</a>')
    if offset + shown < total:
        links.append(f'<a href="{_e(href(offset + limit))}">older &rarr;</a>')
    where = f"runs {offset + 1}&ndash;{offset + shown} of {total}" if shown else "no runs here"
    return (
        f'<nav class="pagination" data-testid="pagination"><span>{where}</span> '
        f"{' '.join(links)}</nav>"
    )


def _dag_filter(base: str, dag_id: str | None, limit: int) -> str:
    choices = [(None, "all sfqb DAGs"), *((d, d) for d in DAG_IDS)]
    links = []
    for value, label in choices:
        query = urlencode({"limit": limit, **({"dag_id": value} if value else {})})
        if value == dag_id:
            links.append(f'<strong aria-current="page">{_e(label)}</strong>')
        else:
            links.append(f'<a href="{_e(base)}/runs?{_e(query)}">{_e(label)}</a>')
    return f'<nav class="dag-filter" data-testid="dag-filter">{" · ".join(links)}</nav>'


def render_page(
    views: Iterable[Mapping[str, Any]],
    *,
    title: str = "sfqb sync log",
    base: str = "/sfqb",
    ui_base: str = "",
    total: int | None = None,
    offset: int = 0,
    limit: int = 10,
    dag_id: str | None = None,
) -> str:
    """The runs list (``total`` given: with paging and the DAG filter; newest open, the older
    ones folded) or one run's page (its tab: ``total`` None)."""
    views = list(views)
    runs = "".join(
        render_run(v, ui_base=ui_base, index=i, open_=(i == 0)) for i, v in enumerate(views)
    )
    if total is None:
        return _document(title, runs or '<p class="muted">No such sfqb run.</p>')
    head = (
        f'<header class="page-head"><h1>{_e(title)}</h1>{_dag_filter(base, dag_id, limit)}</header>'
    )
    nav = _pagination(
        base, total=total, offset=offset, limit=limit, shown=len(views), dag_id=dag_id
    )
    empty = "" if views else '<p class="muted">No sfqb run yet.</p>'
    return _document(title, head + runs + empty + nav)


def render_not_sfqb(dag_id: str, *, ui_base: str = "") -> str:
    """The "Sync log" tab of another DAG's run: Airflow 3.3 shows a plugin's run tab on every
    DAG (docs/operations.md, "The sync log"), so it says whose it is and where sfqb's runs are."""
    url = f"{ui_base}/plugin/{NAV_ROUTE}"
    line = (
        f'<p class="notice" data-testid="not-sfqb-notice">This tab is sfqb\'s sync log; '
        f"{_e(dag_id)} is not an sfqb DAG. The sfqb runs: {_link(url, 'Browse → Sync log')}.</p>"
    )
    return _document("sfqb sync log", line)
