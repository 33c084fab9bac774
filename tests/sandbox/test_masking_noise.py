"""No "Skipping masking for a secret as it's too short" WARNING from the values sfqb ships.

Airflow registers every connection's password and every value of its extra, and every Variable
value it reads, with its secrets masker. The masker checks a value's length (under 5
characters: not masked) before it checks whether the value's key is a secret at all, and logs
that WARNING once per process for the first short one: a Salesforce ``version`` extra of
``59.0`` or a Variable holding ``{}`` is enough. These tests put the sandbox's connections and
the local settings (``airflow_settings.yaml``) through Airflow's own masker and fail on any
value that would make it warn.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
import yaml

from tests.conftest import ROOT


def too_short(values: list[Any], monkeypatch) -> list[str]:
    """The values (as given: a dict stands for its short member) Airflow's masker refuses as
    too short; each would log the WARNING."""
    from airflow.sdk._shared.secrets_masker import secrets_masker as module

    refused: list[str] = []

    class Log:
        def warning(self, *args, **kwargs) -> None:
            refused.append(repr(current))

    monkeypatch.setattr(module, "log", Log())
    masker = module.SecretsMasker()
    current: Any = None
    for current in values:
        monkeypatch.setattr(module.SecretsMasker, "_has_warned_short_secret", False)
        masker.add_mask(current)
    return refused


def masked_values(spec: dict) -> list[Any]:
    """What Airflow masks of a connection (JSON form): password, extra as text and as a dict."""
    extra = spec.get("extra") or {}
    extra_text = extra if isinstance(extra, str) else json.dumps(extra)
    return [spec.get("password"), extra_text, json.loads(extra_text)]


@pytest.mark.unit
def test_given_the_local_settings_when_airflow_masks_them_then_no_value_is_too_short(monkeypatch):
    """R-OPS-4: the connections and Variables `make sync` / `make ui` create
    (airflow_settings.yaml) hold no value Airflow's masker calls too short."""
    settings = yaml.safe_load((ROOT / "airflow_settings.yaml").read_text())["airflow"]
    values: list[Any] = []
    for item in settings["connections"]:
        values += masked_values(
            {"password": item.get("conn_password"), "extra": item.get("conn_extra")}
        )
    values += [item["variable_value"] for item in settings["variables"]]
    assert too_short(values, monkeypatch) == []


@pytest.mark.unit
def test_given_a_four_character_extra_when_airflow_masks_it_then_the_check_reports_it(
    monkeypatch,
):
    """R-OPS-4: the check above can fail: the Salesforce ``version`` extra the sandbox used to
    carry."""
    refused = too_short(masked_values({"extra": {"version": "59.0"}}), monkeypatch)
    assert refused == ["{'version': '59.0'}"]


@pytest.mark.sandbox
def test_given_the_sandbox_connections_when_airflow_masks_them_then_no_value_is_too_short(
    sandbox, monkeypatch
):
    """R-OPS-4: the connections the demo, `make sync` and the tests give Airflow for the
    running sandbox (login, password, every extra) never make the masker warn."""
    from sfqb_sandbox.connections import airflow_connections

    specs = airflow_connections(sandbox.connections)
    assert set(specs) == {"quickbooks_default", "salesforce_default"}
    values = [v for spec in specs.values() for v in masked_values(spec)]
    assert too_short(values, monkeypatch) == []
