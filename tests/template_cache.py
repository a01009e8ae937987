"""One Jinja bytecode cache for every app the suite makes.

Each test makes its own app, and each app's Jinja environment compiled the templates it
rendered afresh: a third of a view test's time (tests/assets/test_views.py: 7.4 s of 22 s, 284
compilations for 20 tests). Jinja's bytecode cache is made to be shared (it keys a template by
name and checks its source's checksum), so the apps of one test process share one in memory.
The dashboard makes its app once and keeps its compiled templates; this is the suite's concern.
"""

from __future__ import annotations

from flask import Flask
from jinja2 import BytecodeCache
from jinja2.bccache import Bucket


class _InMemory(BytecodeCache):
    def __init__(self) -> None:
        self.codes: dict[str, bytes] = {}

    def load_bytecode(self, bucket: Bucket) -> None:
        code = self.codes.get(bucket.key)
        if code is not None:
            bucket.bytecode_from_string(code)

    def dump_bytecode(self, bucket: Bucket) -> None:
        self.codes[bucket.key] = bucket.bytecode_to_string()


SHARED = _InMemory()


def share(app: Flask) -> None:
    app.jinja_env.bytecode_cache = SHARED
