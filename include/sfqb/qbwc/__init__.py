"""sfqb's QuickBooks Web Connector service and its durable job queue (docs/rules.md section 10).

QuickBooks Desktop is reached only through Intuit's Web Connector (QBWC), which polls a SOAP
service that sfqb hosts (api-notes 7, 9). The sync queues qbXML work in a database sfqb owns;
the service hands it to the Web Connector one message set at a time and stores the answers.

- ``queue``: the job queue and **the API the Desktop adapter uses** (its docstring);
  ``schema``: its tables and ordered migrations;
- ``qbxml``: the hardened XML parser, message sets, answers read;
- ``settings``: the Airflow connections (``quickbooks_desktop_default``, ``sfqb_qbwc_queue``);
- ``soap``: SOAP 1.1 by hand and the WSDL; ``service``: the eight web methods, sessions,
  tickets and the company check; ``app``: the ASGI app, ``serve`` (uvicorn) and
  ``create_lazy_app`` (the app Airflow's api-server mounts);
- ``qwc``: the .qwc file the QuickBooks admin loads into the Web Connector.

Operators run ``python -m sfqb qbwc serve``, or set ``SFQB_QBWC_IN_AIRFLOW=1`` for the plugin
``plugins/sfqb_qbwc.py`` to mount the service in Airflow's api-server, and write the .qwc with
``python -m sfqb qbwc qwc`` (docs/quickbooks-desktop.md).
"""

from .queue import (
    DONE,
    FAILED,
    IN_DOUBT,
    QUEUED,
    SENT,
    Event,
    Job,
    JobQueue,
    KeyConflict,
    NotInDoubt,
    Session,
)

__all__ = [
    "DONE",
    "FAILED",
    "IN_DOUBT",
    "QUEUED",
    "SENT",
    "Event",
    "Job",
    "JobQueue",
    "KeyConflict",
    "NotInDoubt",
    "Session",
]
