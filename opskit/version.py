"""opskit's version: read by ``opskit --version``, the page footer and the OpenAPI document."""

__version__ = "0.1.0"
