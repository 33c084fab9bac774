"""Which properties each entity accepts, which are read-only, and which must be given.

Accepted = what python-quickbooks' classes can send plus every key the server itself emits
(echo-safety, api-spec 0 rule 3). Anything else is an unknown property: fault 2010.
"""

from __future__ import annotations

COMMON = {"Id", "SyncToken", "MetaData", "domain", "sparse", "status"}
READ_ONLY = {"Id", "MetaData", "domain", "sparse", "status", "FullyQualifiedName", "Level",
             "V4IDPseudonym", "BalanceWithJobs", "IsProject", "HomeBalance", "HomeTotalAmt",
             "InvoiceLink", "TotalAmt", "Balance", "UnappliedAmt", "TxnTaxDetail", "Type"}

FIELDS: dict[str, set[str]] = {
    "Customer": {
        "ARAccountRef", "Active", "AlternatePhone", "Balance", "BalanceWithJobs", "BillAddr",
        "BillWithParent", "CompanyName", "CurrencyRef", "DefaultTaxCodeRef", "DisplayName",
        "FamilyName", "Fax", "FullyQualifiedName", "GivenName", "IsProject", "Job", "Level",
        "MiddleName", "Mobile", "Notes", "OpenBalanceDate", "ParentRef", "PaymentMethodRef",
        "PreferredDeliveryMethod", "PrimaryEmailAddr", "PrimaryPhone", "PrimaryTaxIdentifier",
        "PrintOnCheckName", "ResaleNum", "SalesTermRef", "ShipAddr", "Suffix", "Taxable", "Title",
        "WebAddr", "V4IDPseudonym",
    },
    "Item": {
        "AbatementRate", "Active", "AssetAccountRef", "Description", "ExpenseAccountRef",
        "FullyQualifiedName", "IncomeAccountRef", "InvStartDate", "ItemCategoryType", "Level",
        "Name", "ParentRef", "PurchaseCost", "PurchaseDesc", "PurchaseTaxCodeRef",
        "PurchaseTaxIncluded", "QtyOnHand", "ReverseChargeRate", "SalesTaxCodeRef",
        "SalesTaxIncluded", "ServiceType", "Sku", "SubItem", "Taxable", "TrackQtyOnHand", "Type",
        "UnitPrice",
    },
    "Invoice": {
        "AllowIPNPayment", "AllowOnlineACHPayment", "AllowOnlineCreditCardPayment",
        "AllowOnlinePayment", "ApplyTaxAfterDiscount", "Balance", "BillAddr", "BillEmail",
        "BillEmailBcc", "BillEmailCc", "ClassRef", "CurrencyRef", "CustomField", "CustomerMemo",
        "CustomerRef", "DeliveryInfo", "DepartmentRef", "Deposit", "DepositToAccountRef",
        "DocNumber", "DueDate", "EInvoiceStatus", "EmailStatus", "ExchangeRate", "FreeFormAddress",
        "GlobalTaxCalculation", "HomeBalance", "HomeTotalAmt", "InvoiceLink", "Line", "LinkedTxn",
        "PrintStatus", "PrivateNote", "RecurDataRef", "SalesTermRef", "ShipAddr", "ShipDate",
        "ShipMethodRef", "TaxExemptionRef", "TotalAmt", "TrackingNum", "TxnDate", "TxnTaxDetail",
        "ShipFromAddr",
    },
    "SalesReceipt": {
        "ApplyTaxAfterDiscount", "Balance", "BillAddr", "BillEmail", "ClassRef",
        "CreditCardPayment", "CurrencyRef", "CustomField", "CustomerMemo", "CustomerRef",
        "DeliveryInfo", "DepartmentRef", "DepositToAccountRef", "DocNumber", "EmailStatus",
        "ExchangeRate", "GlobalTaxCalculation", "Line", "LinkedTxn", "PaymentMethodRef",
        "PaymentRefNum", "PrintStatus", "PrivateNote", "ShipAddr", "ShipDate", "ShipMethodRef",
        "TotalAmt", "TrackingNum", "TxnDate", "TxnSource", "TxnTaxDetail", "HomeTotalAmt",
        "ShipFromAddr",
    },
    "Estimate": {
        "AcceptedBy", "AcceptedDate", "ApplyTaxAfterDiscount", "BillAddr", "BillEmail", "ClassRef",
        "CurrencyRef", "CustomField", "CustomerMemo", "CustomerRef", "DepartmentRef", "DocNumber",
        "DueDate", "EmailStatus", "ExchangeRate", "ExpirationDate", "GlobalTaxCalculation", "Line",
        "LinkedTxn", "PrintStatus", "PrivateNote", "ProjectRef", "SalesTermRef", "ShipAddr",
        "ShipDate", "ShipFromAddr", "ShipMethodRef", "TotalAmt", "TrackingNum", "TxnDate",
        "TxnStatus", "TxnTaxDetail", "HomeTotalAmt",
    },
    "Payment": {
        "ARAccountRef", "CreditCardPayment", "CurrencyRef", "CustomerRef", "DepositToAccountRef",
        "ExchangeRate", "Line", "PaymentMethodRef", "PaymentRefNum", "PrivateNote",
        "TaxExemptionRef", "TotalAmt", "TransactionLocationType", "TxnDate", "TxnSource",
        "TxnStatus", "UnappliedAmt", "ProcessPayment",
    },
    "Term": {"Active", "DayOfMonthDue", "DiscountDayOfMonth", "DiscountDays", "DiscountPercent",
             "DueDays", "DueNextMonthDays", "Name", "Type"},
    "Class": {"Active", "FullyQualifiedName", "Name", "ParentRef", "SubClass"},
    "Account": {
        "AccountSubType", "AccountType", "AcctNum", "Active", "Classification", "CurrencyRef",
        "CurrentBalance", "CurrentBalanceWithSubAccounts", "Description", "FullyQualifiedName",
        "Name", "ParentRef", "SubAccount", "TaxCodeRef",
    },
}
for _fields in FIELDS.values():
    _fields |= COMMON

SALES_DETAIL_FIELDS = {"ClassRef", "ItemAccountRef", "ItemRef", "MarkupInfo", "PriceLevelRef",
                       "Qty", "ServiceDate", "TaxCodeRef", "TaxInclusiveAmt", "UnitPrice"}
DISCOUNT_DETAIL_FIELDS = {"ClassRef", "Discount", "DiscountAccountRef", "DiscountPercent",
                          "PercentBased", "TaxCodeRef"}
LINE_FIELDS = {"Id", "LineNum", "Description", "Amount", "DetailType", "LinkedTxn", "CustomField",
               "SalesItemLineDetail", "DiscountLineDetail", "SubTotalLineDetail",
               "DescriptionOnlyLineDetail", "DescriptionLineDetail", "GroupLineDetail"}
LINE_DETAIL_TYPES = {"SalesItemLineDetail", "DiscountLineDetail", "SubTotalLineDetail",
                     "DescriptionOnly", "GroupLineDetail"}
PAYMENT_LINE_FIELDS = {"Amount", "LinkedTxn", "LineEx", "Id", "LineNum"}
ADDRESS_FIELDS = {"Id", "Line1", "Line2", "Line3", "Line4", "Line5", "City", "Country",
                  "CountrySubDivisionCode", "PostalCode", "Lat", "Long", "Note"}

# Maximum lengths (api-spec 2.6.1 and the strict guesses for the rest).
MAX_LEN: dict[str, dict[str, int]] = {
    "Customer": {"DisplayName": 500, "GivenName": 100, "MiddleName": 100, "FamilyName": 100,
                 "Title": 16, "Suffix": 16, "CompanyName": 100, "PrintOnCheckName": 110,
                 "Notes": 2000, "ResaleNum": 16},
    "Item": {"Name": 100, "Sku": 100, "Description": 4000, "PurchaseDesc": 4000},
    "Class": {"Name": 100},
    "Term": {"Name": 31},
    "Account": {"Name": 100},
    "Invoice": {"DocNumber": 21, "PrivateNote": 4000},
    "SalesReceipt": {"DocNumber": 21, "PrivateNote": 4000},
    "Estimate": {"DocNumber": 21, "PrivateNote": 4000},
    "Payment": {"PaymentRefNum": 21, "PrivateNote": 4000},
}
NO_COLON_FIELDS = {"Customer": ("DisplayName", "Title", "GivenName", "MiddleName", "FamilyName",
                                "Suffix", "PrintOnCheckName"),
                   "Item": ("Name",), "Class": ("Name",), "Term": ("Name",), "Account": ("Name",)}
DATE_FIELDS = {"TxnDate", "DueDate", "ShipDate", "ExpirationDate", "AcceptedDate",
               "OpenBalanceDate", "InvStartDate"}
ITEM_TYPES = {"Service", "Inventory", "NonInventory", "Category", "Group"}
NAME_LIST = {"Customer", "Item", "Term", "Class", "Account"}
TRANSACTIONS = {"Invoice", "SalesReceipt", "Estimate", "Payment"}

# URL resource (lower-case, as python-quickbooks sends it) -> entity name.
RESOURCES = {name.lower(): name for name in
             ("Customer", "Item", "Invoice", "SalesReceipt", "Estimate", "Payment", "Term",
              "Class", "Account", "CompanyInfo", "Preferences")}
