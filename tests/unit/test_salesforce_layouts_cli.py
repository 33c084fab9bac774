"""``python -m sfqb salesforce layouts``: the package's additions merged into retrieved layouts,
end to end on a temporary folder shaped like ``sf project retrieve start --output-dir``'s
(R-OPS-6, R-PRE-3)."""

from __future__ import annotations

import shutil
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from sfqb.__main__ import main
from sfqb.checks import layouts, package

pytestmark = pytest.mark.unit

NS = "{http://soap.sforce.com/2006/04/metadata}"


def _layout(*fields: str, related: tuple[str, ...] = ("RelatedNoteList",)) -> str:
    items = "".join(
        f"<layoutItems><behavior>Edit</behavior><field>{f}</field></layoutItems>" for f in fields
    )
    lists = "".join(f"<relatedLists><relatedList>{r}</relatedList></relatedLists>" for r in related)
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<Layout xmlns="http://soap.sforce.com/2006/04/metadata">'
        f"<layoutSections><customLabel>false</customLabel><detailHeading>true</detailHeading>"
        f"<editHeading>true</editHeading><label>Information</label><layoutColumns>{items}"
        "</layoutColumns><style>OneColumn</style></layoutSections>"
        f"{lists}<showEmailCheckbox>false</showEmailCheckbox></Layout>\n"
    )


@pytest.fixture
def retrieved(tmp_path: Path) -> Path:
    """What a retrieve of five layouts leaves: two Account layouts (one per record type), a
    Contact layout with a package field placed by the admin, a Lead layout and the package's
    own Invoice layout."""
    folder = tmp_path / "retrieved" / "main" / "default" / "layouts"
    folder.mkdir(parents=True)
    files = {
        "Account-Account Layout": _layout("Name", "Region__c"),
        "Account-Customer Account Layout": _layout("Name", related=()),
        "Contact-Contact Layout": _layout("Name", "Sync_Me__c"),
        "Lead-Lead Layout": _layout("Company"),
        "Invoice__c-Invoice Layout": _layout("Name"),
    }
    for name, text in files.items():
        (folder / f"{name}.layout-meta.xml").write_text(text, encoding="utf-8")
    return tmp_path / "retrieved"


def _fields(path: Path) -> list[str]:
    root = ET.parse(path).getroot()
    return [i.findtext(NS + "field") or "" for i in root.iter(NS + "layoutItems")]


def test_given_retrieved_layouts_when_the_command_runs_then_each_package_object_layout_gets_the_section(
    retrieved, tmp_path, capsys
):
    """R-OPS-6, R-PRE-3: both Account layouts (record-type layouts) and the Contact layout are
    written under OUT/main/default/layouts with every package field of their object once; the
    Lead and Invoice layouts are left out with a message; a line per file says what was
    added."""
    out = tmp_path / "with-sfqb"
    code = main(["salesforce", "layouts", "--retrieved", str(retrieved), "--output", str(out)])
    printed = capsys.readouterr()
    written = out / "main" / "default" / "layouts"

    assert code == 0, printed.err
    assert sorted(p.name for p in written.iterdir()) == [
        "Account-Account Layout.layout-meta.xml",
        "Account-Customer Account Layout.layout-meta.xml",
        "Contact-Contact Layout.layout-meta.xml",
    ]
    for path in written.iterdir():
        obj = layouts.layout_object(path.name)
        fields = _fields(path)
        assert len(fields) == len(set(fields)), path.name
        assert set(package.FIELD_TYPES[obj]) <= set(fields), path.name
    assert _fields(written / "Account-Account Layout.layout-meta.xml")[:2] == ["Name", "Region__c"]
    assert (
        "Lead-Lead Layout.layout-meta.xml: left out: the package adds nothing to Lead"
        in printed.out
    )
    assert (
        "Contact-Contact Layout.layout-meta.xml: fields added: 4 (Is_Billing_Contact__c, "
        "External_Contact_ID__c, External_Account_ID__c, Last_Sync_Date__c); fields already "
        "there: 1 (Sync_Me__c)"
    ) in printed.out
    assert "related lists added: 1 (Invoice__c.Account__c)" in printed.out
    assert f"sf project deploy start --source-dir {out} " in printed.out


def test_given_the_commands_output_when_run_on_it_again_then_every_file_is_the_same(
    retrieved, tmp_path, capsys
):
    """R-OPS-6: the command is idempotent: on its own output it adds nothing and writes the same
    bytes."""
    first, second = tmp_path / "first", tmp_path / "second"
    assert (
        main(["salesforce", "layouts", "--retrieved", str(retrieved), "--output", str(first)]) == 0
    )
    assert main(["salesforce", "layouts", "--retrieved", str(first), "--output", str(second)]) == 0
    printed = capsys.readouterr().out

    names = sorted(p.name for p in (first / "main" / "default" / "layouts").iterdir())
    assert names == sorted(p.name for p in (second / "main" / "default" / "layouts").iterdir())
    for name in names:
        a = (first / "main" / "default" / "layouts" / name).read_bytes()
        assert (second / "main" / "default" / "layouts" / name).read_bytes() == a
    assert printed.count("fields added: none") == len(names)


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        ("Account-Broken.layout-meta.xml", "<Layout><layoutSections>", "malformed XML"),
        (
            "Account-Field.layout-meta.xml",
            '<CustomField xmlns="http://soap.sforce.com/2006/04/metadata"/>',
            "not a page layout",
        ),
    ],
)
def test_given_a_bad_retrieved_file_when_the_command_runs_then_it_names_the_file_and_writes_nothing(
    retrieved, tmp_path, capsys, name, text, message
):
    """R-OPS-6: one unreadable layout stops the run before anything is written; the error names
    the file."""
    bad = retrieved / "main" / "default" / "layouts" / name
    bad.write_text(text, encoding="utf-8")
    out = tmp_path / "with-sfqb"

    code = main(["salesforce", "layouts", "--retrieved", str(retrieved), "--output", str(out)])
    err = capsys.readouterr().err

    assert code == 1
    assert f"sfqb: {bad}: " in err and message in err and "nothing written" in err
    assert not out.exists()


def test_given_an_empty_or_missing_folder_when_the_command_runs_then_it_says_so(tmp_path, capsys):
    """R-OPS-6: a folder without layouts names itself and the retrieve to run; a folder that does
    not exist is a usage error."""
    empty = tmp_path / "retrieved"
    empty.mkdir()
    args = ["salesforce", "layouts", "--output", str(tmp_path / "out")]

    assert main([*args, "--retrieved", str(empty)]) == 1
    assert f"sfqb: {empty}: no *.layout-meta.xml file" in capsys.readouterr().err
    assert main([*args, "--retrieved", str(tmp_path / "nowhere")]) == 2
    assert "nowhere: no such folder" in capsys.readouterr().err


def test_given_an_output_inside_the_retrieved_folder_or_the_package_when_run_then_it_refuses(
    retrieved, tmp_path, capsys
):
    """R-OPS-6: the output never lands among the retrieved originals, nor in the package's
    force-app (the package never holds a standard object's layout)."""
    inside = retrieved / "merged"
    assert (
        main(["salesforce", "layouts", "--retrieved", str(retrieved), "--output", str(inside)]) == 2
    )
    assert "overlap" in capsys.readouterr().err
    salesforce = tmp_path / "salesforce"
    shutil.copytree(layouts.DEFAULT_ADDITIONS, salesforce / "layout-additions")
    args = ["--additions", str(salesforce / "layout-additions")]
    target = salesforce / "force-app"
    code = main(
        ["salesforce", "layouts", "--retrieved", str(retrieved), "--output", str(target), *args]
    )
    assert code == 2
    assert "inside the package's" in capsys.readouterr().err
    assert not target.exists()
