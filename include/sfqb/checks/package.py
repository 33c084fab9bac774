"""What the sfqb Salesforce package adds to an org (``include/salesforce``,
docs/salesforce-package.md).

The preflight validations check these against the live org (R-PRE-3). The list mirrors the SFDX
source field for field; ``tests/unit/checks/test_package.py`` fails when the two drift apart.
"""

from __future__ import annotations

# The package's own objects: a missing one means the package is not deployed.
CUSTOM_OBJECTS: tuple[str, ...] = ("Invoice__c", "Invoice_Item__c", "Invoice_Opportunity_Link__c")

# Object -> the package's custom fields on it.
CUSTOM_FIELDS: dict[str, tuple[str, ...]] = {
    "Account": (
        "Billing_Address_Block__c",
        "Credit_Limit__c",
        "External_Account_ID__c",
        "Last_Sync_Date__c",
        "Sales_Rep__c",
        "Shipping_Address_Block__c",
        "Sync_Me__c",
        "Terms__c",
    ),
    "Contact": (
        "External_Account_ID__c",
        "External_Contact_ID__c",
        "Is_Billing_Contact__c",
        "Last_Sync_Date__c",
        "Sync_Me__c",
    ),
    "Opportunity": (
        "Billing_Address_Block__c",
        "Class__c",
        "Due_Date__c",
        "External_Transaction_ID__c",
        "External_Transaction_Number__c",
        "Last_Sync_Date__c",
        "PO_Number__c",
        "Sales_Rep__c",
        "Ship_Date__c",
        "Shipping_Address_Block__c",
        "Shipping_Method__c",
        "Sync_Me__c",
        "Terms__c",
        "Transaction_Date__c",
        "Transaction_Type__c",
    ),
    "OpportunityLineItem": ("External_Line_ID__c", "External_Line_Index__c"),
    "Product2": (
        "External_Item_ID__c",
        "Last_Sync_Date__c",
        "Quantity_Allocated__c",
        "Quantity_On_Hand__c",
    ),
    "Invoice__c": (
        "Account__c",
        "Billing_Address_Block__c",
        "Class__c",
        "Due_Date__c",
        "External_Invoice_ID__c",
        "Invoice_Date__c",
        "Invoice_Number__c",
        "Is_Paid__c",
        "Last_Sync_Date__c",
        "Outstanding_Balance__c",
        "PO_Number__c",
        "Sales_Rep__c",
        "Ship_Date__c",
        "Shipping_Address_Block__c",
        "Shipping_Method__c",
        "Status__c",
        "Subtotal__c",
        "Sync_Me__c",
        "Terms__c",
    ),
    "Invoice_Item__c": (
        "Amount__c",
        "Description__c",
        "External_Invoice_Line_ID__c",
        "Invoice__c",
        "Product__c",
        "Quantity__c",
        "Rate__c",
    ),
    "Invoice_Opportunity_Link__c": ("External_ID__c", "Invoice__c", "Opportunity__c"),
}

OBJECTS: tuple[str, ...] = tuple(CUSTOM_FIELDS)
