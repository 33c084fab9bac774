"""The only code that talks to Salesforce and QuickBooks: Connection -> client, thin typed calls.

Hooks return plain records (dicts) and per-record results; DataFrames and business rules live
elsewhere (``sfqb.frames``, ``sfqb.areas``).
"""
