"""Jinja templates of opskit: ``base.html``, ``_macros.html`` and one folder per domain."""
