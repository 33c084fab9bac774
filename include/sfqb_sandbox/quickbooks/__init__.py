"""A local emulation of QuickBooks Online (Accounting API v3) and Intuit OAuth 2.0.

Entry point: :class:`sfqb_sandbox.quickbooks.service.QuickBooksService`. See
``docs/sandbox-quickbooks.md`` for what is emulated and how to drive the admin surface.
"""
