"""The Desktop adapter's item reads for the item area: the Inventory Part query (R-QBD-7) and
the prices of Desktop's item types (R-ITM-2, R-ITM-3)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from lxml import etree

from sfqb.hooks.desktop import normalise as n
from sfqb.hooks.desktop import translate as t

pytestmark = pytest.mark.unit


def test_given_the_inventory_entity_when_queried_then_one_item_inventory_iterator():
    """R-QBD-7: the quantities are read by one ItemInventoryQuery iterator (Inventory Parts
    only, inactive ones too), not by every item type's query."""
    query = t.query_request("ItemInventory", include_inactive=True, max_returned=100)
    assert query.request == (
        "<ItemInventoryQueryRq><MaxReturned>100</MaxReturned><ActiveStatus>All</ActiveStatus>"
        "</ItemInventoryQueryRq>"
    )
    assert query.iterate and query.entity.rets == ("ItemInventoryRet",)


def item(xml: str) -> dict:
    return n.normalise(etree.fromstring(xml))


def test_given_percent_rates_when_normalised_then_no_price():
    """R-ITM-2 (Desktop): a percent is no price: a Discount's DiscountRatePercent and an Other
    Charge's PricePercent leave UnitPrice out (the price book gets 0); an amount rate is kept."""
    percent = item(
        "<ItemDiscountRet><ListID>1</ListID><Name>Loyalty</Name><ItemDesc>10% off</ItemDesc>"
        "<DiscountRatePercent>10</DiscountRatePercent></ItemDiscountRet>"
    )
    assert "UnitPrice" not in percent and percent["DesktopType"] == "ItemDiscount"
    amount = item(
        "<ItemDiscountRet><ListID>2</ListID><Name>Five off</Name>"
        "<DiscountRate>5.00</DiscountRate></ItemDiscountRet>"
    )
    assert amount["UnitPrice"] == Decimal("5.00")
    charge = item(
        "<ItemOtherChargeRet><ListID>3</ListID><Name>Fee</Name><SalesOrPurchase>"
        "<Desc>Fee</Desc><PricePercent>3</PricePercent></SalesOrPurchase></ItemOtherChargeRet>"
    )
    assert "UnitPrice" not in charge and charge["Type"] == "OtherCharge"


def test_given_fixed_assets_when_normalised_then_the_sales_price_once_sold():
    """R-ITM-2 (Desktop): a Fixed Asset's price is its FixedAssetSalesInfo SalesPrice (none
    until sold); its description the sales, asset or purchase description."""
    unsold = item(
        "<ItemFixedAssetRet><ListID>4</ListID><Name>Van</Name><PurchaseDesc>Delivery van"
        "</PurchaseDesc><PurchaseCost>32000.00</PurchaseCost></ItemFixedAssetRet>"
    )
    assert "UnitPrice" not in unsold and unsold["Description"] == "Delivery van"
    assert unsold["FullyQualifiedName"] == "Van"
    sold = item(
        "<ItemFixedAssetRet><ListID>5</ListID><Name>Forklift</Name><PurchaseDesc>Forklift"
        "</PurchaseDesc><FixedAssetSalesInfo><SalesDesc>Used forklift</SalesDesc>"
        "<SalesDate>2024-01-02</SalesDate><SalesPrice>4500.00</SalesPrice>"
        "</FixedAssetSalesInfo></ItemFixedAssetRet>"
    )
    assert sold["UnitPrice"] == Decimal("4500.00") and sold["Description"] == "Used forklift"
