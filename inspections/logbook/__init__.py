"""The machine-room logbook (出入登记, 上下电登记), a sub-domain of the patrol with the same inside
as a domain: ``models``, ``services`` (writes; flush, the caller commits), ``queries`` (reads;
the dashboard and the reports reach them through ``inspections.queries``), ``export`` (the
workbook) and ``views`` (the pages)."""
