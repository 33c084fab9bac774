"""The reconciliation rules as pure functions (docs/reconciliation.md): frames in, counts and
differing keys out."""

from __future__ import annotations

import datetime as dt

import pytest

from sfqb.areas import reconcile as rules
from sfqb.frames import records_frame
from sfqb.steps.reconcile import (
    ACCOUNT_FIELDS,
    CUSTOMER_COLUMNS,
    OPPORTUNITY_FIELDS,
    PRODUCT_FIELDS,
    QB_INVOICE_COLUMNS,
    SF_INVOICE_FIELDS,
    TRANSACTION_COLUMNS,
)

pytestmark = pytest.mark.unit

INSTALL = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)
UPPER = dt.datetime(2026, 11, 26, 6, tzinfo=dt.UTC)
IN_SPAN, BEFORE, AFTER = (
    "2026-11-20T10:00:00.000+0000",
    "2026-10-01T10:00:00-07:00",
    "2026-11-26T07:00:00+00:00",
)
SCOPE = rules.Scope(install_date=INSTALL, upper_bound=UPPER)


def frame(rows, columns):
    return records_frame(rows, columns)


def account(id_, qb_id, name=None):
    return {"Id": id_, "Name": name or f"Account {id_}", "External_Account_ID__c": qb_id}


def customer(id_, name=None, *, active=True, project=False, updated=IN_SPAN):
    return {
        "Id": id_,
        "DisplayName": name or f"Customer {id_}",
        "Active": active,
        "IsProject": project,
        "MetaData": {"LastUpdatedTime": updated},
    }


def customers_check(accounts, customers, scope=SCOPE) -> rules.Reconciliation:
    result = rules.Reconciliation()
    rules.reconcile_customers(
        frame(accounts, ACCOUNT_FIELDS), frame(customers, CUSTOMER_COLUMNS), scope, result
    )
    return result


def test_given_linked_accounts_and_their_active_customers_when_reconciled_then_nothing_differs():
    """R-ACC-1, R-ACC-2: each linked Account has its active customer and each owned customer
    one Account: no difference, and the counts say what was compared."""
    result = customers_check(
        [account("001A", "1"), account("001B", "2")], [customer("1"), customer("2")]
    )
    assert result.ok and result.differences == {}
    assert result.counts["accounts_without_customer"] == 0
    assert result.counts["accounts_without_customer_compared"] == 2
    assert result.counts["customers_without_account_compared"] == 2


def test_given_a_customer_gone_or_deactivated_in_quickbooks_when_reconciled_then_only_the_gone_one_differs():
    """R-ACC-2: an Account whose customer does not exist is a difference naming the Account; one
    whose customer a user made inactive is counted, not warned about every run (the sync leaves
    inactive customers alone by design: found by the simulation, seed 11, run 4)."""
    result = customers_check(
        [account("001A", "1", "Acme"), account("001B", "2", "Bolt"), account("001C", "3")],
        [customer("1", active=False), customer("3")],
    )
    assert result.differences["accounts_without_customer"] == [
        'Account 001B "Bolt" -> QuickBooks customer 2 (missing)'
    ]
    assert result.counts["inactive_in_quickbooks"] == 1
    assert not result.ok


def test_given_customers_with_no_account_when_reconciled_then_only_those_the_sync_owns_differ():
    """R-ACC-2, R-ACC-3, R-GEN-6: an active customer changed since the install date with no Account
    differs; one older than the install date, inactive, a project, changed after the run's upper
    bound, or queued for retry does not (the last two are counted apart)."""
    scope = rules.Scope(
        install_date=INSTALL, upper_bound=UPPER, retries={"quickbooks.Customer": frozenset({"6"})}
    )
    result = customers_check(
        [],
        [
            customer("1", "New Co"),
            customer("2", updated=BEFORE),
            customer("3", active=False),
            customer("4", project=True),
            customer("5", updated=AFTER),
            customer("6"),
        ],
        scope,
    )
    assert result.differences == {"customers_without_account": ['QuickBooks customer 1 "New Co"']}
    assert result.counts["pending_retry"] == 1
    assert result.counts["changed_after_run"] == 1


def test_given_one_customer_linked_from_two_accounts_when_reconciled_then_both_accounts_are_named():
    """R-PRE-1, R-GEN-3: a QuickBooks Id on two Accounts is a duplicate link."""
    result = customers_check([account("001A", "1"), account("001B", "1")], [customer("1")])
    assert result.differences["customers_linked_twice"] == [
        "QuickBooks customer 1: Accounts 001A, 001B"
    ]


def test_given_two_customers_whose_names_differ_only_by_case_when_reconciled_then_they_are_duplicates():
    """R-PRE-1 (QuickBooks names are unique): names equal case-insensitively among active customers
    the sync owns are duplicates; an old pair the sync never touched is not its business."""
    result = customers_check(
        [account("001A", "1")],
        [
            customer("1", "Acme Ltd"),
            customer("2", "ACME LTD", updated=BEFORE),
            customer("3", "Old Name", updated=BEFORE),
            customer("4", "old name", updated=BEFORE),
            customer("5", "Acme Ltd", active=False),
        ],
    )
    assert result.differences["duplicate_customer_names"] == [
        '"Acme Ltd": QuickBooks customers 1, 2'
    ]


def opportunity(
    id_, *, txn=None, kind="Invoice", won=True, lines=True, account_qb="1", stamp=IN_SPAN, name=None
):
    return {
        "Id": id_,
        "Name": name or f"Deal {id_}",
        "AccountId": "001A",
        "Account": {"External_Account_ID__c": account_qb},
        "IsWon": won,
        "StageName": "Closed Won",
        "Transaction_Type__c": kind,
        "External_Transaction_ID__c": txn,
        "HasOpportunityLineItem": lines,
        "SystemModstamp": stamp,
    }


def transaction(entity, id_, opp_id=None, number=None):
    return {
        "entity": entity,
        "Id": id_,
        "DocNumber": number or f"D{id_}",
        "PrivateNote": rules.marker(opp_id) if opp_id else None,
    }


def opportunities_check(opps, txns, scope=SCOPE) -> rules.Reconciliation:
    result = rules.Reconciliation()
    rules.reconcile_opportunities(
        frame(opps, OPPORTUNITY_FIELDS),
        frame(txns, [*TRANSACTION_COLUMNS, "entity"]),
        scope,
        result,
    )
    return result


def test_given_each_won_opportunity_has_its_transaction_when_reconciled_then_nothing_differs():
    """R-OPP-1, R-OPP-2: an Invoice and a Sales Receipt opportunity, each linked to its own
    transaction of the right type (Ids may meet across types)."""
    result = opportunities_check(
        [opportunity("006A", txn="10"), opportunity("006B", txn="10", kind="Sales Receipt")],
        [transaction("Invoice", "10", "006A"), transaction("SalesReceipt", "10", "006B")],
    )
    assert result.ok
    assert result.counts["opportunities_missing_transaction_compared"] == 2


def test_given_an_eligible_won_opportunity_without_transaction_when_reconciled_then_it_is_named():
    """R-OPP-1, R-OPP-9: eligible by the area's own rule and changed since the install date, with no
    transaction: a difference; not won, no products, no type, a Sales Order (QBO), an Account not
    synced, older than the install date, or queued for retry: not a difference."""
    scope = rules.Scope(
        install_date=INSTALL,
        upper_bound=UPPER,
        retries={"salesforce.Opportunity": frozenset({"006H"})},
    )
    result = opportunities_check(
        [
            opportunity("006A", name="Big deal"),
            opportunity("006B", won=False),
            opportunity("006C", lines=False),
            opportunity("006D", kind=None),
            opportunity("006E", kind="Sales Order"),
            opportunity("006F", account_qb=None),
            opportunity("006G", stamp=BEFORE),
            opportunity("006H"),
            opportunity("006I", stamp=AFTER),
        ],
        [],
        scope,
    )
    assert result.differences == {
        "opportunities_without_transaction": ['Opportunity 006A "Big deal"']
    }
    assert result.counts["pending_retry"] == 1
    assert result.counts["changed_after_run"] == 1


def test_given_an_opportunity_naming_a_transaction_that_is_gone_when_reconciled_then_it_is_named():
    """R-OPP-6: External Transaction ID names a transaction that does not exist (or one of the other
    type): a difference naming the opportunity and the transaction."""
    result = opportunities_check(
        [opportunity("006A", txn="10"), opportunity("006B", txn="11", kind="Sales Receipt")],
        [transaction("Invoice", "11", "006B")],
    )
    assert result.differences["opportunities_missing_transaction"] == [
        'Opportunity 006A "Deal 006A" -> QuickBooks Invoice 10',
        'Opportunity 006B "Deal 006B" -> QuickBooks SalesReceipt 11',
    ]


def test_given_two_transactions_for_one_opportunity_when_reconciled_then_it_is_a_duplicate():
    """R-GEN-3: two QuickBooks transactions whose private note names the same opportunity, or
    two opportunities naming one transaction, are duplicates."""
    result = opportunities_check(
        [
            opportunity("006A", txn="10"),
            opportunity("006B", txn="12"),
            opportunity("006C", txn="12"),
        ],
        [
            transaction("Invoice", "10", "006A"),
            transaction("Invoice", "11", "006A"),
            transaction("Invoice", "12"),
        ],
    )
    assert result.differences["duplicate_transactions"] == [
        'Opportunity 006A "Deal 006A": QuickBooks Invoice 10, Invoice 11',
        'QuickBooks Invoice 12 is named by Opportunity 006B "Deal 006B", Opportunity 006C "Deal 006C"',
    ]


def sf_invoice(id_, qb_id, balance, total=None, *, account_id="001A", status="Open"):
    return {
        "Id": id_,
        "Name": f"Invoice {qb_id}",
        "External_Invoice_ID__c": qb_id,
        "Account__c": account_id,
        "Outstanding_Balance__c": balance,
        "Subtotal__c": total if total is not None else balance,
        "Status__c": status,
    }


def qb_invoice(id_, balance, total=None, *, customer_id="1", updated=IN_SPAN):
    return {
        "Id": id_,
        "DocNumber": f"10{id_}",
        "CustomerRef": {"value": customer_id},
        "Balance": balance,
        "TotalAmt": total if total is not None else balance,
        "MetaData": {"LastUpdatedTime": updated},
    }


def invoices_check(sf, qb, accounts=None, scope=SCOPE, customers=None) -> rules.Reconciliation:
    result = rules.Reconciliation()
    accounts = [account("001A", "1", "Acme")] if accounts is None else accounts
    rules.reconcile_invoices(
        frame(sf, SF_INVOICE_FIELDS),
        frame(qb, QB_INVOICE_COLUMNS),
        frame(accounts, ACCOUNT_FIELDS),
        scope,
        result,
        None if customers is None else frame(customers, CUSTOMER_COLUMNS),
    )
    return result


def test_given_equal_invoice_balances_when_reconciled_then_nothing_differs():
    """R-INV-1, R-INV-4: balances and totals equal to the cent (QuickBooks' extra decimals rounded
    as Salesforce keeps them), per invoice and per customer; a deleted invoice marked Deleted is fine."""
    result = invoices_check(
        [
            sf_invoice("a01A", "1", "100.00", "150.00"),
            sf_invoice("a01B", "2", 0),
            sf_invoice("a01C", "3", 0, status="Deleted"),
        ],
        [qb_invoice("1", "100.004", 150), qb_invoice("2", 0)],
    )
    assert result.ok, result.differences
    assert result.counts["invoice_balances_compared"] == 2
    assert result.counts["customer_balances"] == 0


def test_given_an_invoice_balance_edited_in_salesforce_when_reconciled_then_invoice_and_customer_differ():
    """R-INV-4, R-INV-6: an Invoice__c balance that is not QuickBooks' is named with both values,
    and its customer's open balance differs too."""
    result = invoices_check(
        [sf_invoice("a01A", "1", "80", "150"), sf_invoice("a01B", "2", "20")],
        [qb_invoice("1", "100", "150"), qb_invoice("2", "20")],
    )
    assert result.differences["invoice_balances"] == [
        'Invoice__c a01A "Invoice 1" (QuickBooks invoice 1): balance Salesforce 80.00, QuickBooks 100.00; '
        "total Salesforce 150.00, QuickBooks 150.00"
    ]
    assert result.differences["customer_balances"] == [
        'QuickBooks customer 1 / Account 001A "Acme": open balance Salesforce 100.00, QuickBooks 120.00'
    ]


def test_given_an_invoice_of_a_customer_no_account_is_linked_to_when_reconciled_then_no_customer_differs():
    """R-ACC-3, R-INV-1: a project's invoice lands in Salesforce with no Account; its balance is
    compared per invoice, but per customer only linked Account/customer pairs are compared."""
    result = invoices_check(
        [sf_invoice("a01A", "1", "40", account_id=None)], [qb_invoice("1", "40", customer_id="15")]
    )
    assert result.ok, result.differences
    assert result.counts["customer_balances_compared"] == 0


def test_given_a_projects_invoice_on_its_parents_account_when_reconciled_then_the_parents_balances_agree():
    """R-INV-7, R-ACC-3: a project's invoice is on its parent's Account in Salesforce; per
    customer, QuickBooks' side counts it for that parent too (the customers' ParentRef), so
    both open balances agree."""
    project = {**customer("15", "Acme - Rollout", project=True), "ParentRef": {"value": "1"}}
    result = invoices_check(
        [sf_invoice("a01A", "1", "40"), sf_invoice("a01B", "2", "60")],
        [qb_invoice("1", "40", customer_id="15"), qb_invoice("2", "60")],
        customers=[customer("1", "Acme"), project],
    )
    assert result.ok, result.differences
    assert result.counts["customer_balances_compared"] == 1


def test_given_invoices_on_one_side_only_when_reconciled_then_each_side_is_counted():
    """R-INV-1, R-INV-5: an owned QuickBooks invoice with no Invoice__c, and an Invoice__c whose
    invoice is gone without being marked Deleted, differ; an invoice older than the install date,
    changed after the run, or queued for retry is not a difference."""
    scope = rules.Scope(
        install_date=INSTALL,
        upper_bound=UPPER,
        retries={"quickbooks.Invoice@invoices": frozenset({"5"})},
    )
    result = invoices_check(
        [sf_invoice("a01A", "9", 0)],
        [
            qb_invoice("1", 10),
            qb_invoice("2", 10, updated=BEFORE),
            qb_invoice("3", 10, updated=AFTER),
            qb_invoice("5", 10),
        ],
        scope=scope,
    )
    assert result.differences["invoices_missing_in_salesforce"] == [
        "QuickBooks invoice 1 (No. 101)"
    ]
    assert result.differences["invoices_missing_in_quickbooks"] == [
        'Invoice__c a01A "Invoice 9" -> QuickBooks invoice 9'
    ]
    assert result.counts["pending_retry"] == 1
    assert result.counts["changed_after_run"] == 1


def product(id_, code, item=None):
    return {"Id": id_, "Name": f"Product {id_}", "ProductCode": code, "External_Item_ID__c": item}


def test_given_two_products_for_one_item_when_reconciled_then_they_are_duplicates():
    """R-ITM-2, R-PRE-2: two Products with one External Item ID, or with the ProductCode of a linked
    Product, are duplicates; two unlinked Salesforce-only products sharing a code are not ours."""
    result = rules.Reconciliation()
    rules.reconcile_products(
        frame(
            [
                product("01tA", "Svc:Setup", "5"),
                product("01tB", "Svc:Setup"),
                product("01tC", "Hw", "6"),
                product("01tD", "Hw2", "6"),
                product("01tE", "Plan"),
                product("01tF", "Plan"),
            ],
            PRODUCT_FIELDS,
        ),
        result,
    )
    assert result.differences["duplicate_products"] == [
        'External Item ID 6: Product2 01tC "Product 01tC", Product2 01tD "Product 01tD"',
        'ProductCode "Svc:Setup": Product2 01tA "Product 01tA", Product2 01tB "Product 01tB"',
    ]


def test_given_many_differences_when_warned_then_each_check_is_one_line_with_twenty_names_and_the_rest_counted():
    """R-OPS-2: one WARNING per check naming at most 20 records, then "and N more"."""
    result = rules.Reconciliation()
    result.add("customers_without_account", [f"QuickBooks customer {n:02}" for n in range(25)], 25)
    (line,) = result.warnings()
    assert line.startswith("reconcile: customers_without_account: 25 active QuickBooks customers")
    assert "QuickBooks customer 19" in line and "QuickBooks customer 20" not in line
    assert line.endswith("; and 5 more")


def test_given_areas_off_when_reconciled_then_their_checks_do_not_run():
    """R-OPP-8, R-INV-5: with opportunities, invoices and items off only the customer checks run
    (their frames are not even needed)."""
    scope = rules.Scope(
        install_date=INSTALL, upper_bound=UPPER, opportunities=False, invoices=False, items=False
    )
    result = rules.reconcile(
        {
            "accounts": frame([account("001A", "1")], ACCOUNT_FIELDS),
            "customers": frame([customer("1")], CUSTOMER_COLUMNS),
        },
        scope,
    )
    assert result.ok
    assert "opportunities_without_transaction" not in result.counts
    assert "invoice_balances" not in result.counts
    assert result.counts["accounts_without_customer_compared"] == 1


def test_given_retries_saved_and_in_this_runs_reports_when_scoped_then_both_are_pending_and_areas_off_are_out():
    """R-GEN-5, R-OPP-8, R-INV-5, R-OPS-1: the records to retry come from the sync state and from
    this run's area reports (their commits may not have saved them yet); areas off in the
    preferences, or not selected by a narrowed run, are not compared."""
    from sfqb.preferences import Preferences
    from sfqb.state import InMemoryVariables, SyncState
    from sfqb.steps.reconcile import scope_of

    state = SyncState(InMemoryVariables())
    state.save_retries("salesforce.Opportunity", ["006A"], run_id="r1")
    state.ensure_install_date(configured=None, first_run_start=INSTALL)
    scope = scope_of(
        Preferences(sync_invoices=False),
        state,
        upper_bound=UPPER,
        run={"areas": ["customers"]},
        area_reports=[{"area": "opportunities", "retry": {"salesforce.Opportunity": ["006B"]}}],
    )
    assert scope.pending("salesforce.Opportunity") == {"006A", "006B"}
    assert scope.install_date == INSTALL and scope.upper_bound == UPPER
    assert (scope.customers, scope.opportunities, scope.invoices, scope.items) == (
        True,
        False,
        False,
        False,
    )
    assert scope_of(Preferences(), state).opportunities and scope_of(Preferences(), state).items
