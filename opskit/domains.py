"""The packages ``create_app`` wires, named but not imported (the base may not import them).

Each exposes ``init_app(app)``, registering its blueprints, CLI groups and its entries in the
core's registries (``opskit.jobs``, ``opskit.alerts.wording.register_rule_titles``);
``opskit.migrate`` imports each one's ``models`` so Alembic sees every table.
"""

DOMAINS = (
    "opskit.alerts",
    "opskit.servicedesk",
    "assets",
    "inspections",
    "inspections.vulns",
    "monitors",
    "monitors.syslog",
    "monitors.discover",
    "monitors.configs",
    "monitors.configs.history",
    "monitors.configs.upgrades",
    "reports",
)
