"""The sandbox Salesforce org: REST API, SOQL, Bulk API 2.0 and OAuth, in memory with SQLite."""
