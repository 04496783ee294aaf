"""Bank reconciliation of a finance bureau (DESIGN §10, issue 14): pure domain code, no display.

- :mod:`.statement` reads a bank statement (CSV in UTF-8, UTF-8 with BOM or GB18030, or XLSX) into
  typed lines, refusing the whole statement at its first unreadable row;
- :mod:`.matching` matches those lines against the bureau's payments, in DESIGN §10's order;
- :mod:`.result` holds the statuses, the result document and the reconciliation id.
"""
