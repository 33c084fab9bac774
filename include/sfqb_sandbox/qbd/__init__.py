"""A local emulation of a QuickBooks Desktop company file that answers qbXML.

Entry point in process: :class:`sfqb_sandbox.qbd.company.DesktopCompany`; over HTTP:
:class:`sfqb_sandbox.qbd.service.DesktopService`. See ``docs/sandbox-quickbooks-desktop.md`` for
what is emulated, and api-notes 8 for the QuickBooks facts behind it.
"""
