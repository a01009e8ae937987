"""Request categories as data: ``categories.yaml`` in this package (key → zh and en words).

The file is read once and checked: every key is a lower-case English word and carries both
words; a broken file stops with a message naming the file and the key.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from importlib import resources

from flask_babel import get_locale

from opskit.rulefiles import load_yaml

FILE = "categories.yaml"
_KEY = re.compile(r"^[a-z][a-z0-9_]{0,31}$")


class CategoryError(ValueError):
    """The categories file is wrong; the message names the file and the key."""


@dataclass(frozen=True)
class Category:
    key: str
    zh: str
    en: str

    def label(self, english: bool = False) -> str:
        return self.en if english else self.zh


def parse(text: str, source: str = FILE) -> dict[str, Category]:
    """The categories of a file's text, in its order; errors name ``source`` and the key."""
    data = load_yaml(text)
    if not isinstance(data, dict) or not data:
        raise CategoryError(f"{source}: expected a mapping of category key to its words")
    found: dict[str, Category] = {}
    for key, words in data.items():
        if not isinstance(key, str) or not _KEY.match(key):
            raise CategoryError(
                f"{source}: {key!r}: a key is lower-case letters, digits and _ (at most 32)"
            )
        if not isinstance(words, dict):
            raise CategoryError(f"{source}: {key}: expected zh and en")
        zh, en = words.get("zh"), words.get("en")
        for name, word in (("zh", zh), ("en", en)):
            if not isinstance(word, str) or not word.strip():
                raise CategoryError(f"{source}: {key}.{name}: the word is missing")
        unknown = sorted(set(words) - {"zh", "en"})
        if unknown:
            raise CategoryError(f"{source}: {key}: unknown field {unknown[0]!r}")
        found[key] = Category(key, str(zh).strip(), str(en).strip())
    return found


@functools.cache
def categories() -> dict[str, Category]:
    """key → category, as the shipped file lists them."""
    text = resources.files("opskit.servicedesk").joinpath(FILE).read_text("utf-8")
    return parse(text)


def label(key: str) -> str:
    """The category's word in the reader's language; an unknown key as it is stored."""
    category = categories().get(key)
    return category.label(str(get_locale() or "").startswith("en")) if category else key
