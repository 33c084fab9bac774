"""The package's record-triggered Flows, as the sandbox org runs them.

A real org runs a record-triggered after-save Flow when a saved record meets its start
conditions, and its Update Records element then updates the records its filters find (those
saves run the org's rules and validation rules again). The sandbox reads the package's
``flows/*.flow-meta.xml`` and runs the same, for the shape of Flow the package uses: an active
AutoLaunchedFlow whose start is ``RecordAfterSave`` on one object (``Create``, ``Update`` or
``CreateAndUpdate``; ``and`` filter logic; optionally only when a record is changed to meet the
conditions) connected to one Update Records element (``and`` filters, field assignments).
Operators: EqualTo, NotEqualTo, IsNull; values: booleans, text, numbers and ``$Record.Field``.
A Flow of any other shape stops the sandbox loading the package, naming the file, rather than
being ignored. The admin surface can deactivate a Flow, as an admin can in Setup.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sfqb_sandbox.salesforce.formula import equal, value_of

MD = "{http://soap.sforce.com/2006/04/metadata}"
_OPERATORS = ("EqualTo", "NotEqualTo", "IsNull")


class FlowError(ValueError):
    """A Flow the sandbox does not model."""


Value = Callable[[dict], Any]  # the triggering record -> a value


@dataclass(frozen=True)
class Condition:
    field: str
    operator: str
    value: Value
    reference: str | None = None
    """The triggering record's field the value is (``$Record.<field>``), if any."""

    def holds(self, record: dict, trigger: dict) -> bool:
        actual, wanted = value_of(record, self.field), self.value(trigger)
        if self.operator == "IsNull":
            return equal(actual, None) is bool(wanted)
        same = equal(actual, wanted)
        return same if self.operator == "EqualTo" else not same


@dataclass(frozen=True)
class RecordTriggeredFlow:
    """One after-save Flow: when a saved ``object`` record meets ``start``, the ``target``
    records meeting ``filters`` get ``assignments``."""

    name: str
    object: str
    on_create: bool
    on_update: bool
    only_when_changed_to_meet: bool
    start: tuple[Condition, ...]
    target: str
    filters: tuple[Condition, ...]
    assignments: tuple[tuple[str, Value], ...]

    def triggered_by(self, record: dict, before: dict | None) -> bool:
        if not (self.on_create if before is None else self.on_update):
            return False
        if not all(c.holds(record, record) for c in self.start):
            return False
        met_before = before is not None and all(c.holds(before, before) for c in self.start)
        return not (self.only_when_changed_to_meet and met_before)

    def narrowing(self, trigger: dict) -> tuple[str, Any] | None:
        """(field, value) of a filter that pins the targets to a value of the triggering
        record (``AccountId = $Record.AccountId``): the org reads them through its index."""
        for c in self.filters:
            if c.operator == "EqualTo" and c.reference:
                return c.field, value_of(trigger, c.reference)
        return None

    def updates(self, trigger: dict, candidates: list[dict]) -> list[tuple[str, dict]]:
        """(record Id, field changes) for each candidate its filters find."""
        changes = {f: value(trigger) for f, value in self.assignments}
        return [
            (r["Id"], changes) for r in candidates if all(c.holds(r, trigger) for c in self.filters)
        ]


def _tag(el: ET.Element, name: str) -> str | None:
    child = el.find(MD + name)
    return None if child is None or child.text is None else child.text.strip()


def _value(el: ET.Element | None, where: str) -> Value:
    if el is None or len(el) != 1:
        raise FlowError(f"{where}: a value needs exactly one of its kinds")
    (kind,) = el
    text = (kind.text or "").strip()
    name = kind.tag.removeprefix(MD)
    if name == "booleanValue":
        flag = text == "true"
        return lambda r: flag
    if name == "stringValue":
        return lambda r: text
    if name == "numberValue":
        number = float(text)
        return lambda r: number
    if name == "elementReference" and text.startswith("$Record."):
        field = text.removeprefix("$Record.")
        if "." in field:
            raise FlowError(f"{where}: the sandbox does not follow {text}")
        return lambda r: value_of(r, field)
    raise FlowError(f"{where}: the sandbox does not model the value {name} {text!r}")


def _conditions(el: ET.Element, where: str) -> tuple[Condition, ...]:
    filters = el.findall(MD + "filters")
    if filters and (_tag(el, "filterLogic") or "and") != "and":
        raise FlowError(f"{where}: only 'and' filter logic is modelled")
    out = []
    for f in filters:
        operator = _tag(f, "operator") or ""
        if operator not in _OPERATORS:
            raise FlowError(f"{where}: the sandbox does not model the operator {operator!r}")
        value = f.find(MD + "value")
        reference = _tag(value, "elementReference") if value is not None else None
        out.append(
            Condition(
                _tag(f, "field") or "",
                operator,
                _value(value, where),
                reference.removeprefix("$Record.") if reference else None,
            )
        )
    return tuple(out)


def parse_flow(path: Path) -> RecordTriggeredFlow | None:
    """The Flow of a ``.flow-meta.xml`` file; None when it is not active."""
    root = ET.parse(path).getroot()
    where = path.name
    if _tag(root, "status") != "Active":
        return None
    start = root.find(MD + "start")
    if _tag(root, "processType") != "AutoLaunchedFlow" or start is None:
        raise FlowError(f"{where}: only record-triggered AutoLaunchedFlows are modelled")
    if _tag(start, "triggerType") != "RecordAfterSave":
        raise FlowError(f"{where}: only after-save Flows are modelled")
    trigger = _tag(start, "recordTriggerType") or ""
    if trigger not in ("Create", "Update", "CreateAndUpdate"):
        raise FlowError(f"{where}: the sandbox does not model the trigger {trigger!r}")
    elements = [c.tag.removeprefix(MD) for c in root]
    steps = [e for e in elements if e in _STEP_ELEMENTS]
    if steps != ["recordUpdates"]:
        raise FlowError(f"{where}: only one Update Records element is modelled, not {steps}")
    update = root.find(MD + "recordUpdates")
    assert update is not None
    connector = start.find(MD + "connector")
    if connector is None or _tag(connector, "targetReference") != _tag(update, "name"):
        raise FlowError(f"{where}: the start must lead to the Update Records element")
    if update.find(MD + "inputReference") is not None or update.find(MD + "connector") is not None:
        raise FlowError(f"{where}: the Update Records element must stand alone, with filters")
    return RecordTriggeredFlow(
        name=path.name.removesuffix(".flow-meta.xml"),
        object=_tag(start, "object") or "",
        on_create=trigger in ("Create", "CreateAndUpdate"),
        on_update=trigger in ("Update", "CreateAndUpdate"),
        only_when_changed_to_meet=_tag(start, "doesRequireRecordChangedToMeetCriteria") == "true",
        start=_conditions(start, f"{where} start"),
        target=_tag(update, "object") or "",
        filters=_conditions(update, f"{where} {_tag(update, 'name')}"),
        assignments=tuple(
            (_tag(a, "field") or "", _value(a.find(MD + "value"), where))
            for a in update.findall(MD + "inputAssignments")
        ),
    )


# The elements that do something (the rest describe the Flow: label, layout, metadata).
_STEP_ELEMENTS = {
    "actionCalls",
    "assignments",
    "collectionProcessors",
    "decisions",
    "loops",
    "recordCreates",
    "recordDeletes",
    "recordLookups",
    "recordUpdates",
    "screens",
    "subflows",
    "waits",
}


def load_flows(source: Path) -> list[RecordTriggeredFlow]:
    """The active Flows of the package directory ``source``."""
    flows = []
    for path in sorted((source / "flows").glob("*.flow-meta.xml")):
        flow = parse_flow(path)
        if flow is not None:
            flows.append(flow)
    return flows
