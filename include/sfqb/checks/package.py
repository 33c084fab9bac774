"""What the sfqb Salesforce package adds to an org (``include/salesforce``,
docs/salesforce-package.md).

The preflight validations check these against the live org (R-PRE-3). The list mirrors the SFDX
source field for field; ``tests/unit/checks/test_package.py`` fails when the two drift apart.
"""

from __future__ import annotations

# The package's own objects: a missing one means the package is not deployed.
CUSTOM_OBJECTS: tuple[str, ...] = ("Invoice__c", "Invoice_Item__c", "Invoice_Opportunity_Link__c")

# Object -> the package's custom fields on it -> the type describe reports for it (a field of
# that name with another type is not the package's: R-PRE-3).
FIELD_TYPES: dict[str, dict[str, str]] = {
    "Account": {
        "Billing_Address_Block__c": "textarea",
        "Credit_Limit__c": "currency",
        "External_Account_ID__c": "string",
        "Last_Sync_Date__c": "datetime",
        "Sales_Rep__c": "string",
        "Shipping_Address_Block__c": "textarea",
        "Sync_Me__c": "boolean",
        "Terms__c": "picklist",
    },
    "Contact": {
        "External_Account_ID__c": "string",
        "External_Contact_ID__c": "string",
        "Is_Billing_Contact__c": "boolean",
        "Last_Sync_Date__c": "datetime",
        "Sync_Me__c": "boolean",
    },
    "Opportunity": {
        "Billing_Address_Block__c": "textarea",
        "Class__c": "string",
        "Due_Date__c": "date",
        "External_Transaction_ID__c": "string",
        "External_Transaction_Number__c": "string",
        "Last_Sync_Date__c": "datetime",
        "PO_Number__c": "string",
        "Sales_Rep__c": "string",
        "Ship_Date__c": "date",
        "Shipping_Address_Block__c": "textarea",
        "Shipping_Method__c": "picklist",
        "Sync_Me__c": "boolean",
        "Terms__c": "picklist",
        "Transaction_Date__c": "date",
        "Transaction_Type__c": "picklist",
    },
    "OpportunityLineItem": {
        "External_Line_ID__c": "string",
        "External_Line_Index__c": "double",
    },
    "Product2": {
        "External_Item_ID__c": "string",
        "Last_Sync_Date__c": "datetime",
        "Quantity_Allocated__c": "double",
        "Quantity_On_Hand__c": "double",
    },
    "Invoice__c": {
        "Account__c": "reference",
        "Billing_Address_Block__c": "textarea",
        "Class__c": "string",
        "Due_Date__c": "date",
        "External_Invoice_ID__c": "string",
        "Invoice_Date__c": "date",
        "Invoice_Number__c": "string",
        "Is_Paid__c": "boolean",
        "Last_Sync_Date__c": "datetime",
        "Outstanding_Balance__c": "currency",
        "PO_Number__c": "string",
        "Sales_Rep__c": "string",
        "Ship_Date__c": "date",
        "Shipping_Address_Block__c": "textarea",
        "Shipping_Method__c": "picklist",
        "Status__c": "picklist",
        "Subtotal__c": "currency",
        "Sync_Me__c": "boolean",
        "Terms__c": "picklist",
    },
    "Invoice_Item__c": {
        "Amount__c": "currency",
        "Description__c": "textarea",
        "External_Invoice_Line_ID__c": "string",
        "Invoice__c": "reference",
        "Product__c": "reference",
        "Quantity__c": "double",
        "Rate__c": "double",
    },
    "Invoice_Opportunity_Link__c": {
        "External_ID__c": "string",
        "Invoice__c": "reference",
        "Opportunity__c": "reference",
    },
}

# Object -> the package's custom fields on it.
CUSTOM_FIELDS: dict[str, tuple[str, ...]] = {
    obj: tuple(fields) for obj, fields in FIELD_TYPES.items()
}

OBJECTS: tuple[str, ...] = tuple(CUSTOM_FIELDS)
