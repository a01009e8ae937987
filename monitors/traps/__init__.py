"""SNMP traps: ``opskit traps`` receives them, the profiles' ``traps:`` rules raise and clear
alerts from them, every trap is stored (``snmp_trap``) and listed on the traps page.

- ``receiver``: the UDP socket and pysnmp's notification receiver (v1, v2c, v3) on an asyncio
  loop, a bounded queue, counters of what was shed or refused;
- ``rules``: the profiles' entries and the site's own rules (``<instance>/trap_rules.yaml``,
  read again when it changes) by trap OID;
- ``store``: the database writer (credentials from the SNMP monitors, asset matching, alerts);
- ``views`` and ``forms``: the page, and its "make a rule" form for an unknown trap's OID;
  ``cli``: the command.
"""
