"""Reading .qwc files, and refusing what the Web Connector refuses (api-notes 9.2)."""

from __future__ import annotations

import pytest

from sfqb_sandbox.webconnector import QwcError, parse_qwc, read_qwc

from .conftest import qwc_text

pytestmark = pytest.mark.sandbox


def test_given_intuits_sample_shape_when_parsed_then_every_field_is_read():
    """A full .qwc: names, URLs, GUIDs, QBType, the schedule in seconds and the flags."""
    text = qwc_text("https://qbwc.example.com/qbwc").replace(
        "<QBType>QBFS</QBType>",
        "<QBType>QBFS</QBType><IsReadOnly>false</IsReadOnly><AuthFlags>0xE</AuthFlags>"
        "<Style>Document</Style><AppDisplayName>sfqb</AppDisplayName>",
    )
    qwc = parse_qwc(text)
    assert qwc.app_name == "sfqb test"
    assert qwc.app_id == ""
    assert qwc.app_url == "https://qbwc.example.com/qbwc"
    assert qwc.app_support == "https://qbwc.example.com/support"
    assert qwc.user_name == "sfqb"
    assert qwc.owner_id == "{57F3B9B1-86F1-4FCC-B1EE-566DE1813D20}"
    assert qwc.file_id == "{90A44FB5-33D9-4815-AC85-BC87A7E7D1EB}"
    assert qwc.qb_type == "QBFS"
    assert qwc.run_every_seconds == 300
    assert qwc.is_read_only is False
    assert qwc.auth_flags == 0xE
    assert qwc.other == {"AppDisplayName": "sfqb"}


def test_given_a_file_on_disk_when_read_then_it_parses(tmp_path):
    """read_qwc reads a file."""
    path = tmp_path / "sfqb.qwc"
    path.write_text(qwc_text())
    assert read_qwc(path).app_name == "sfqb test"


@pytest.mark.parametrize(
    ("scheduler", "seconds"),
    [
        ("<Scheduler><RunEveryNSeconds>30</RunEveryNSeconds></Scheduler>", 30),
        ("<Scheduler><RunEveryNMinutes>2</RunEveryNMinutes></Scheduler>", 120),
        (
            "<Scheduler><RunEveryNSeconds>45</RunEveryNSeconds>"
            "<RunEveryNMinutes>2</RunEveryNMinutes></Scheduler>",
            45,
        ),
        (
            "<Scheduler><RunEveryNMinutes>2</RunEveryNMinutes>"
            "<RunEveryNSeconds>45</RunEveryNSeconds></Scheduler>",
            120,
        ),
        ("", None),
    ],
)
def test_given_a_scheduler_when_parsed_then_the_first_interval_counts(scheduler, seconds):
    """RunEveryNMinutes or RunEveryNSeconds; with both, the first one in the file."""
    assert parse_qwc(qwc_text(scheduler=scheduler)).run_every_seconds == seconds


def test_given_localhost_over_http_when_parsed_then_it_is_accepted_for_development():
    """http:// is allowed for localhost only, and then AppSupport may be anywhere."""
    qwc = parse_qwc(qwc_text("http://localhost:8123/qbwc", support="http://developer.intuit.com"))
    assert qwc.app_url == "http://localhost:8123/qbwc"


@pytest.mark.parametrize(
    ("kwargs", "code", "wording"),
    [
        (
            {"url": "http://qbwc.example.com/qbwc"},
            "QBWC1010",
            "Application sfqb test cannot be loaded. For security reasons only SSL (https) "
            "based applications are allowed.",
        ),
        (
            {"url": "https://127.0.0.1/qbwc"},
            "QBWC1001",
            "The application sfqb test's service URL is an IP Address, it will not be loaded.",
        ),
        (
            {"url": "https://qbwc.example.com/qbwc", "support": "https://10.0.0.1/help"},
            "QBWC1002",
            "The application sfqb test's support URL is an IP Address, it will not be loaded.",
        ),
        (
            {"url": "https://qbwc.example.com/qbwc", "support": "https://help.other.org/"},
            "QBWC1000",
            "The domain names for sfqb test's service and support URLs do not match.",
        ),
    ],
)
def test_given_a_url_qbwc_refuses_when_parsed_then_the_error_has_qbwcs_code_and_wording(
    kwargs, code, wording
):
    """http on a remote host, IP addresses, AppURL and AppSupport on different domains."""
    with pytest.raises(QwcError) as refused:
        parse_qwc(qwc_text(**kwargs))
    assert refused.value.code == code
    assert refused.value.message == wording


def test_given_a_subdomain_support_url_when_parsed_then_the_domains_match():
    """AppSupport on another host of the same domain is accepted."""
    qwc = parse_qwc(qwc_text("https://qbwc.example.com/qbwc", support="https://www.example.com/"))
    assert qwc.app_support == "https://www.example.com/"


@pytest.mark.parametrize(
    "element",
    [
        "AppName",
        "AppID",
        "AppURL",
        "AppDescription",
        "AppSupport",
        "UserName",
        "OwnerID",
        "FileID",
        "QBType",
    ],
)
def test_given_a_missing_required_element_when_parsed_then_qbwc1039_names_it(element):
    """Every required element must be there (AppID may be empty, not absent)."""
    lines = [line for line in qwc_text().splitlines() if f"<{element}>" not in line]
    with pytest.raises(QwcError) as refused:
        parse_qwc("\n".join(lines))
    assert refused.value.code == "QBWC1039"
    assert "There was a problem adding the application to registry" in refused.value.message
    assert element in refused.value.detail


@pytest.mark.parametrize(
    ("old", "new", "reason"),
    [
        (
            "{57F3B9B1-86F1-4FCC-B1EE-566DE1813D20}",
            "57F3B9B1-86F1-4FCC-B1EE-566DE1813D20",
            "OwnerID",
        ),
        ("{90A44FB5-33D9-4815-AC85-BC87A7E7D1EB}", "{not-a-guid}", "FileID"),
        ("<QBType>QBFS</QBType>", "<QBType>QBPOS</QBType>", "QBFS only"),
        ("<QBType>QBFS</QBType>", "<QBType>QBFS</QBType><Style>RPC</Style>", "Document only"),
        (
            "<QBType>QBFS</QBType>",
            "<QBType>QBFS</QBType><IsReadOnly>maybe</IsReadOnly>",
            "IsReadOnly",
        ),
        ("<QBType>QBFS</QBType>", "<QBType>QBFS</QBType><AuthFlags>0x10</AuthFlags>", "AuthFlags"),
        (
            "<RunEveryNMinutes>5</RunEveryNMinutes>",
            "<RunEveryNMinutes>0</RunEveryNMinutes>",
            "positive",
        ),
        ("<RunEveryNMinutes>5</RunEveryNMinutes>", "", "neither"),
        ("<UserName>sfqb</UserName>", "<UserName></UserName>", "empty UserName"),
        ("<QBWCXML>", "<QBWC>", "root element"),
    ],
)
def test_given_a_defect_qbwc_does_not_name_when_parsed_then_qbwc1039_says_why(old, new, reason):
    """GUIDs without braces, another QBType or Style, bad flags or intervals, an empty value,
    the wrong root: refused under QBWC1039 with the reason."""
    text = qwc_text().replace(old, new)
    if old == "<QBWCXML>":
        text = text.replace("</QBWCXML>", "</QBWC>")
    with pytest.raises(QwcError) as refused:
        parse_qwc(text)
    assert refused.value.code == "QBWC1039"
    assert reason in refused.value.detail


def test_given_entities_or_a_doctype_when_parsed_then_it_is_refused_unresolved():
    """A DOCTYPE is refused and never resolved."""
    text = '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>' + (
        qwc_text().split("?>", 1)[1].replace("sfqb test", "&e;")
    )
    with pytest.raises(QwcError) as refused:
        parse_qwc(text)
    assert refused.value.code == "QBWC1039"
    assert "passwd" not in str(refused.value) or "DOCTYPE" in str(refused.value)
