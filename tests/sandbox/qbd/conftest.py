"""Fixtures for the QuickBooks Desktop company tests: an in-process company on a frozen clock.

``company`` is seeded ``tiny`` (Enterprise, US Pacific) and has a session open; ``qb`` sends a
message set and returns the parsed response (``qb.rs(...)`` the response elements).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pytest
from lxml import etree

from sfqb_sandbox.common.clock import Clock
from sfqb_sandbox.desktop_rig import qbxml_message
from sfqb_sandbox.qbd.company import DesktopCompany
from sfqb_sandbox.qbd.seed import seed_company

START = dt.datetime(2026, 3, 1, 17, 0, tzinfo=dt.UTC)


def message(body: str, on_error: str = "continueOnError", version: str = "13.0") -> str:
    return qbxml_message(body, on_error, version)


@dataclass
class QB:
    company: DesktopCompany

    def send(self, body: str, on_error: str = "continueOnError") -> etree._Element:
        return etree.fromstring(self.company.process(message(body, on_error)).encode())

    def rs(self, body: str, on_error: str = "continueOnError") -> list[etree._Element]:
        return list(self.send(body, on_error).find("QBXMLMsgsRs"))

    def one(self, body: str) -> etree._Element:
        (rs,) = self.rs(body)
        return rs

    def customer(self, name: str, extra: str = "") -> etree._Element:
        rs = self.one(
            f'<CustomerAddRq requestID="c"><CustomerAdd><Name>{name}</Name>{extra}'
            "</CustomerAdd></CustomerAddRq>"
        )
        assert rs.get("statusCode") == "0", rs.get("statusMessage")
        return rs.find("CustomerRet")

    def advance(self, seconds: float) -> None:
        self.company.clock.set(advance_seconds=seconds, frozen=True)


def make_company(
    tmp_path,
    *,
    seed: str | None = "tiny",
    edition: str = "Enterprise",
    tz: str = "America/Los_Angeles",
) -> DesktopCompany:
    clock = Clock(None)
    clock.set(START, frozen=True)
    company = DesktopCompany(tmp_path / "qbd", clock)
    company.configure(edition=edition, time_zone=tz)
    if seed:
        seed_company(company.store, seed, clock.timestamp(), edition=edition)
    company.open("")
    return company


@pytest.fixture
def company(tmp_path) -> DesktopCompany:
    return make_company(tmp_path)


@pytest.fixture
def qb(company) -> QB:
    return QB(company)


@pytest.fixture
def make(tmp_path):
    """Build another company: ``make(edition="Pro", tz=..., seed=...)`` -> a QB helper."""
    counter = iter(range(1000))

    def build(**kwargs) -> QB:
        return QB(make_company(tmp_path / f"c{next(counter)}", **kwargs))

    return build
