"""Customers and items: names, EditSequence, references, iterators, filters in local time
(api-notes 8.4, 8.6)."""

from __future__ import annotations

import datetime as dt

import pytest

pytestmark = pytest.mark.sandbox


def _mod(list_id: str, seq: str, body: str) -> str:
    return (
        f"<CustomerModRq><CustomerMod><ListID>{list_id}</ListID><EditSequence>{seq}</EditSequence>"
        f"{body}</CustomerMod></CustomerModRq>"
    )


def test_given_a_job_when_added_then_its_full_name_joins_the_parent_with_a_colon(qb):
    parent = qb.customer("Parent Co")
    job = qb.customer(
        "Kitchen",
        f"<ParentRef><ListID>{parent.findtext('ListID')}</ListID></ParentRef><JobStatus>InProgress</JobStatus>",
    )
    assert job.findtext("FullName") == "Parent Co:Kitchen"
    assert job.findtext("Sublevel") == "1"
    assert job.findtext("ParentRef/FullName") == "Parent Co"
    # the same Name under another parent is fine: FullNames differ
    other = qb.customer("Other Co")
    qb.customer("Kitchen", f"<ParentRef><FullName>{other.findtext('Name')}</FullName></ParentRef>")


def test_given_a_stale_edit_sequence_when_modified_then_status_3200(qb):
    """Mod needs the current EditSequence; each Mod changes it."""
    c = qb.customer("Seq Co")
    first = qb.one(
        _mod(c.findtext("ListID"), c.findtext("EditSequence"), "<Phone>555-1000</Phone>")
    )
    assert first.get("statusCode") == "0"
    assert first.findtext("CustomerRet/EditSequence") != c.findtext("EditSequence")
    stale = qb.one(
        _mod(c.findtext("ListID"), c.findtext("EditSequence"), "<Phone>555-2000</Phone>")
    )
    assert stale.get("statusCode") == "3200"
    assert (
        stale.get("statusMessage")
        == f'The provided edit sequence "{c.findtext("EditSequence")}" is out-of-date.'
    )


def test_given_an_unknown_list_id_or_reference_when_written_then_3120_and_3140(qb):
    assert qb.one(_mod("80009999-1", "1", "")).get("statusCode") == "3120"
    rs = qb.one(
        "<CustomerAddRq><CustomerAdd><Name>Ref Co</Name><TermsRef><FullName>Net 999</FullName></TermsRef></CustomerAdd></CustomerAddRq>"
    )
    assert rs.get("statusCode") == "3140"
    assert 'QuickBooks StandardTerms "Net 999"' in rs.get("statusMessage")


def test_given_a_renamed_parent_when_modified_then_its_jobs_full_names_follow(qb):
    parent = qb.customer("Old Name Co")
    qb.customer("Job A", f"<ParentRef><ListID>{parent.findtext('ListID')}</ListID></ParentRef>")
    rs = qb.one(
        _mod(parent.findtext("ListID"), parent.findtext("EditSequence"), "<Name>New Name Co</Name>")
    )
    assert rs.get("statusCode") == "0"
    assert qb.company.store.find_name("Customer", "New Name Co:Job A") is not None


def test_given_more_customers_than_a_page_when_iterated_then_remaining_counts_fall_to_zero(qb):
    total = len([c for c in qb.company.store.objects["Customer"].values() if c["IsActive"]])
    first = qb.one(
        '<CustomerQueryRq requestID="1" iterator="Start"><MaxReturned>5</MaxReturned></CustomerQueryRq>'
    )
    iterator = first.get("iteratorID")
    seen = len(first.findall("CustomerRet"))
    assert first.get("iteratorRemainingCount") == str(total - 5)
    while True:
        rs = qb.one(
            f'<CustomerQueryRq requestID="2" iterator="Continue" iteratorID="{iterator}"><MaxReturned>5</MaxReturned></CustomerQueryRq>'
        )
        seen += len(rs.findall("CustomerRet"))
        if rs.get("iteratorRemainingCount") == "0":
            break
    assert seen == total


def test_given_an_idle_iterator_when_continued_late_then_status_3391(qb):
    """Iterators expire when not continued within iterator_timeout (60 s by default)."""
    first = qb.one(
        '<CustomerQueryRq iterator="Start"><MaxReturned>2</MaxReturned></CustomerQueryRq>'
    )
    qb.advance(61)
    rs = qb.one(
        f'<CustomerQueryRq iterator="Continue" iteratorID="{first.get("iteratorID")}"><MaxReturned>2</MaxReturned></CustomerQueryRq>'
    )
    assert rs.get("statusCode") == "3391"
    assert rs.get("statusSeverity") == "Error"


def test_given_a_closed_session_when_an_iterator_is_continued_then_status_3391(qb):
    first = qb.one(
        '<CustomerQueryRq iterator="Start"><MaxReturned>2</MaxReturned></CustomerQueryRq>'
    )
    qb.company.close()
    qb.company.open("")
    rs = qb.one(f'<CustomerQueryRq iterator="Continue" iteratorID="{first.get("iteratorID")}"/>')
    assert rs.get("statusCode") == "3391"


def test_given_no_match_when_queried_then_status_1_info(qb):
    rs = qb.one(
        "<CustomerQueryRq><NameFilter><MatchCriterion>StartsWith</MatchCriterion><Name>Zzz</Name></NameFilter></CustomerQueryRq>"
    )
    assert (rs.get("statusCode"), rs.get("statusSeverity")) == ("1", "Info")


def test_given_some_missing_list_ids_when_queried_then_status_500_with_the_found_ones(qb):
    c = qb.customer("Found Co")
    rs = qb.one(
        f"<CustomerQueryRq><ListID>{c.findtext('ListID')}</ListID><ListID>80009999-1</ListID></CustomerQueryRq>"
    )
    assert (rs.get("statusCode"), rs.get("statusSeverity")) == ("500", "Warn")
    assert len(rs.findall("CustomerRet")) == 1


def test_given_inactive_customers_when_queried_then_active_only_is_the_default(qb):
    c = qb.customer("Sleepy Co", "<IsActive>false</IsActive>")
    name = "<NameFilter><MatchCriterion>StartsWith</MatchCriterion><Name>Sleepy</Name></NameFilter>"
    assert qb.one(f"<CustomerQueryRq>{name}</CustomerQueryRq>").get("statusCode") == "1"
    rs = qb.one(f"<CustomerQueryRq><ActiveStatus>All</ActiveStatus>{name}</CustomerQueryRq>")
    assert rs.findtext("CustomerRet/ListID") == c.findtext("ListID")


def test_given_include_ret_element_when_queried_then_only_those_elements_come_back(qb):
    rs = qb.one(
        "<CustomerQueryRq><MaxReturned>1</MaxReturned><IncludeRetElement>ListID</IncludeRetElement><IncludeRetElement>Name</IncludeRetElement></CustomerQueryRq>"
    )
    assert [child.tag for child in rs.find("CustomerRet")] == ["ListID", "Name"]


def test_given_a_dst_change_when_filtered_by_naive_local_time_then_the_company_zone_decides(make):
    """US Eastern springs forward on 2026-03-08 at 02:00 local. Naive FromModifiedDate values
    are local time; TimeModified carries the offset of its own instant."""
    qb = make(seed=None, tz="America/New_York")
    qb.company.clock.set(dt.datetime(2026, 3, 8, 6, 30, tzinfo=dt.UTC), frozen=True)  # 01:30 EST
    before = qb.customer("Before DST")
    qb.company.clock.set(dt.datetime(2026, 3, 8, 7, 30, tzinfo=dt.UTC), frozen=True)  # 03:30 EDT
    after = qb.customer("After DST")
    assert before.findtext("TimeModified") == "2026-03-08T01:30:00-05:00"
    assert after.findtext("TimeModified") == "2026-03-08T03:30:00-04:00"
    rs = qb.one(
        "<CustomerQueryRq><FromModifiedDate>2026-03-08T03:00:00</FromModifiedDate></CustomerQueryRq>"
    )
    assert [r.findtext("Name") for r in rs.findall("CustomerRet")] == ["After DST"]
    rs = qb.one(
        "<CustomerQueryRq><ToModifiedDate>2026-03-08T01:59:59</ToModifiedDate></CustomerQueryRq>"
    )
    assert [r.findtext("Name") for r in rs.findall("CustomerRet")] == ["Before DST"]
    # an explicit offset is honoured: 06:00 UTC is 01:00 EST
    rs = qb.one(
        "<CustomerQueryRq><FromModifiedDate>2026-03-08T07:00:00+00:00</FromModifiedDate></CustomerQueryRq>"
    )
    assert [r.findtext("Name") for r in rs.findall("CustomerRet")] == ["After DST"]


ITEM_ADDS = {
    "ItemService": "<Name>Svc X</Name><SalesOrPurchase><Price>10.00</Price><AccountRef><FullName>Sales</FullName></AccountRef></SalesOrPurchase>",
    "ItemNonInventory": "<Name>NonInv X</Name><SalesOrPurchase><Price>3.00</Price><AccountRef><FullName>Sales</FullName></AccountRef></SalesOrPurchase>",
    "ItemOtherCharge": "<Name>Charge X</Name><SalesOrPurchase><Price>5.00</Price><AccountRef><FullName>Sales</FullName></AccountRef></SalesOrPurchase>",
    "ItemDiscount": "<Name>Disc X</Name><DiscountRate>5.00</DiscountRate><AccountRef><FullName>Sales</FullName></AccountRef>",
    "ItemInventory": "<Name>Inv X</Name><SalesPrice>12.00</SalesPrice><IncomeAccountRef><FullName>Sales</FullName></IncomeAccountRef><COGSAccountRef><FullName>Cost of Goods Sold</FullName></COGSAccountRef><AssetAccountRef><FullName>Inventory Asset</FullName></AssetAccountRef><QuantityOnHand>30</QuantityOnHand>",
    "ItemInventoryAssembly": "<Name>Asm X</Name><IncomeAccountRef><FullName>Sales</FullName></IncomeAccountRef><COGSAccountRef><FullName>Cost of Goods Sold</FullName></COGSAccountRef><AssetAccountRef><FullName>Inventory Asset</FullName></AssetAccountRef><ItemInventoryAssemblyLine><ItemRef><FullName>Widget 0001</FullName></ItemRef><Quantity>2</Quantity></ItemInventoryAssemblyLine>",
    "ItemFixedAsset": "<Name>Asset X</Name><AcquiredAs>New</AcquiredAs><PurchaseDesc>Forklift</PurchaseDesc><PurchaseDate>2025-01-02</PurchaseDate><AssetAccountRef><FullName>Furniture and Equipment</FullName></AssetAccountRef>",
    "ItemGroup": "<Name>Group X</Name><ItemGroupLine><ItemRef><FullName>Consulting</FullName></ItemRef><Quantity>1</Quantity></ItemGroupLine>",
}


@pytest.mark.parametrize("kind", sorted(ITEM_ADDS))
def test_given_each_item_type_when_added_then_its_query_and_item_query_return_it(qb, kind):
    rs = qb.one(f"<{kind}AddRq><{kind}Add>{ITEM_ADDS[kind]}</{kind}Add></{kind}AddRq>")
    assert rs.get("statusCode") == "0", rs.get("statusMessage")
    list_id = rs.findtext(f"{kind}Ret/ListID")
    assert (
        qb.one(f"<{kind}QueryRq><ListID>{list_id}</ListID></{kind}QueryRq>").find(f"{kind}Ret")
        is not None
    )
    assert (
        qb.one(f"<ItemQueryRq><ListID>{list_id}</ListID></ItemQueryRq>").find(f"{kind}Ret")
        is not None
    )
    dup = qb.one(f"<{kind}AddRq><{kind}Add>{ITEM_ADDS[kind]}</{kind}Add></{kind}AddRq>")
    assert dup.get("statusCode") == "3100"


def test_given_an_item_name_over_31_characters_when_added_then_status_3070(qb):
    body = ITEM_ADDS["ItemService"].replace("Svc X", "S" * 32)
    assert (
        qb.one(f"<ItemServiceAddRq><ItemServiceAdd>{body}</ItemServiceAdd></ItemServiceAddRq>").get(
            "statusCode"
        )
        == "3070"
    )


def test_given_an_external_guid_when_a_customer_is_added_then_the_ret_keeps_it(qb):
    """An add's ExternalGUID is kept and answered in the Ret (the identity the Desktop
    adapter looks up after a lost answer); one not in braces fails the message set
    (api-notes 8.6)."""
    guid = "{6F1C3A52-7B0E-5D8E-9A51-3C2F0E7D4B10}"
    ret = qb.customer("Guid Co", f"<ExternalGUID>{guid}</ExternalGUID>")
    assert ret.findtext("ExternalGUID") == guid
    (again,) = qb.rs(
        '<CustomerQueryRq requestID="q"><FullName>Guid Co</FullName></CustomerQueryRq>'
    )
    assert again.findtext("CustomerRet/ExternalGUID") == guid
    with pytest.raises(Exception, match="GUID"):
        qb.customer("Bad Guid", "<ExternalGUID>6F1C3A52</ExternalGUID>")
