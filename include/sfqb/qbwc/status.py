"""What ``python -m sfqb qbwc status`` shows: the queue as an operator needs to see it.

The Web Connector's last poll, the jobs per state, every job not finished (queued, sent to a
session, in doubt) with its key and error, and the latest sessions with their errors, newest
first (R-QBD-8), and the QuickBooks PC's clock against the service's as the latest write
showed it (the adapter keeps it, ``OFFSET_KEY``). Read-only: nothing is claimed, cancelled or
pruned. ``queue_status`` reads (JSON for ``--json``), ``status_lines`` renders it as text.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from .queue import DONE, FAILED, IN_DOUBT, QUEUED, SENT, JobQueue

STATES = (QUEUED, SENT, IN_DOUBT, DONE, FAILED)
OPEN_STATES = (QUEUED, SENT, IN_DOUBT)

OFFSET_KEY = "pc_clock_offset"
"""The queue meta key of the PC's clock against the service's, as a write last showed it."""
OFFSET_WARN = dt.timedelta(minutes=2)
"""How far off the PC's clock may be before the run warns (a write's answer reaches the
service within seconds of QuickBooks stamping it)."""


def age_text(delta: dt.timedelta) -> str:
    """``42 s``, ``7 min``, ``3 h 5 min``: how long ago, as the messages say it."""
    seconds = int(delta.total_seconds())
    if seconds < 120:
        return f"{seconds} s"
    if seconds < 7200:
        return f"{seconds // 60} min"
    return f"{seconds // 3600} h {seconds % 3600 // 60} min"


def queue_status(queue: JobQueue, sessions: int = 10) -> dict[str, Any]:
    """The queue's state as JSON: ``queue`` (its URL, no password), ``last_poll``,
    ``pc_clock`` (``saved_offset``), ``jobs`` (count per state), ``open`` (the unfinished jobs,
    oldest first) and ``sessions`` (the latest ``sessions``, newest first)."""
    last = queue.last_poll()
    return {
        "queue": queue.engine.url.render_as_string(hide_password=True),
        "last_poll": last.isoformat() if last else None,
        "pc_clock": saved_offset(queue.get_meta(OFFSET_KEY)),
        "jobs": {state: queue.count(state) for state in STATES},
        "open": [
            {
                "id": job.id,
                "state": job.state,
                "kind": job.kind,
                "key": job.key,
                "created_at": job.created_at,
                "attempts": job.attempts,
                "error": job.error,
            }
            for state in OPEN_STATES
            for job in queue.jobs(state)
        ],
        "sessions": [
            {
                "started_at": s.started_at,
                "state": s.state,
                "user_name": s.user_name,
                "company_file": s.company_file,
                "requests": s.requests,
                "answered": s.answered,
                "error": s.error,
            }
            for s in queue.sessions(sessions)
        ],
    }


def _when(stamp: str) -> str:
    return stamp[:19].replace("T", " ")


def status_lines(status: dict[str, Any], now: dt.datetime) -> list[str]:
    """``queue_status`` as the lines the command prints (times in UTC)."""
    last = status["last_poll"]
    polled = (
        f"{_when(last)} UTC ({age_text(now - dt.datetime.fromisoformat(last))} ago)"
        if last
        else "never"
    )
    counts = status["jobs"]
    lines = [
        f"queue: {status['queue']}",
        f"last poll: {polled}",
        "jobs: " + ", ".join(f"{counts[state]} {state}" for state in STATES),
    ]
    clock = status.get("pc_clock")
    if clock:
        seconds = clock["seconds"]
        way = "behind" if seconds < 0 else "ahead of"
        lines.insert(
            2,
            f"QuickBooks PC's clock: {abs(seconds):.0f} s {way} this service's "
            f"(a write answered {_when(clock['measured_at'])} UTC)"
            + (f": {clock['warning']}" if clock["warning"] else ""),
        )
    if status["open"]:
        lines.append("not finished (oldest first):")
        for job in status["open"]:
            error = f"; {job['error']}" if job["error"] else ""
            lines.append(
                f"  job {job['id']} {job['state']} {job['kind']} {job['key']} "
                f"(queued {_when(job['created_at'])} UTC, attempts {job['attempts']}){error}"
            )
    if status["sessions"]:
        lines.append("latest sessions (newest first):")
        for s in status["sessions"]:
            where = f" {s['company_file']!r}" if s["company_file"] else ""
            error = f"; error: {s['error']}" if s["error"] else ""
            lines.append(
                f"  {_when(s['started_at'])} UTC {s['state']}: user {s['user_name']!r}{where}, "
                f"{s['answered']}/{s['requests']} requests answered{error}"
            )
    else:
        lines.append("no sessions yet: the Web Connector has not come (or not with this queue)")
    return lines


def offset_note(offset: dt.timedelta, stored_at: str) -> str:
    """``OFFSET_KEY``'s value: the offset in seconds and when it was measured (JSON)."""
    return json.dumps({"seconds": round(offset.total_seconds(), 1), "measured_at": stored_at})


def saved_offset(value: str | None) -> dict | None:
    """``OFFSET_KEY``'s value read back: ``{"seconds", "measured_at", "warning"}`` (the
    sentence of ``offset_text``, None within ``OFFSET_WARN``); None when absent."""
    if not value:
        return None
    try:
        note = json.loads(value)
        seconds = float(note["seconds"])
        return {
            "seconds": seconds,
            "measured_at": str(note["measured_at"]),
            "warning": offset_text(seconds),
        }
    except (ValueError, KeyError, TypeError):
        return None


def offset_text(seconds: float) -> str | None:
    """A sentence on a PC clock off by more than ``OFFSET_WARN``, else None."""
    if abs(seconds) <= OFFSET_WARN.total_seconds():
        return None
    minutes = abs(seconds) / 60
    amount = f"{minutes:.0f} minutes" if minutes < 120 else f"{minutes / 60:.1f} hours"
    way = "behind" if seconds < 0 else "ahead of"
    return (
        f"the QuickBooks PC's clock is about {amount} {way} sfqb's service's: set it right "
        "(Windows' time synchronisation). sfqb compares QuickBooks' stamps only with QuickBooks' "
        "own times, but the install date is on the server's clock: "
        + (
            "an edit made that long after it is stamped before it and not read"
            if seconds < 0
            else "edits made that long before it are read too"
        )
    )
