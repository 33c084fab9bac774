"""What ``python -m sfqb qbwc status`` shows: the queue as an operator needs to see it.

The Web Connector's last poll, the jobs per state, every job not finished (queued, sent to a
session, in doubt) with its key and error, and the latest sessions with their errors, newest
first (R-QBD-8). Read-only: nothing is claimed, cancelled or pruned. ``queue_status`` reads (JSON
for ``--json``), ``status_lines`` renders it as text.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from .queue import DONE, FAILED, IN_DOUBT, QUEUED, SENT, JobQueue

STATES = (QUEUED, SENT, IN_DOUBT, DONE, FAILED)
OPEN_STATES = (QUEUED, SENT, IN_DOUBT)


def age_text(delta: dt.timedelta) -> str:
    """``42 s``, ``7 min``, ``3 h 5 min``: how long ago, as the messages say it."""
    seconds = int(delta.total_seconds())
    if seconds < 120:
        return f"{seconds} s"
    if seconds < 7200:
        return f"{seconds // 60} min"
    return f"{seconds // 3600} h {seconds % 3600 // 60} min"


def queue_status(queue: JobQueue, sessions: int = 10) -> dict[str, Any]:
    """The queue's state as JSON: ``queue`` (its URL, no password), ``last_poll``, ``jobs``
    (count per state), ``open`` (the unfinished jobs, oldest first) and ``sessions`` (the
    latest ``sessions``, newest first)."""
    last = queue.last_poll()
    return {
        "queue": queue.engine.url.render_as_string(hide_password=True),
        "last_poll": last.isoformat() if last else None,
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
