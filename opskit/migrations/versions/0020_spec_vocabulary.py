"""asset.specs on one vocabulary (``assets.specs``) (#17)

Specs written before the vocabulary under other spellings move onto its keys: ``CPU``/``cpu``/
处理器 → ``cpu_model``, 核数/``cores`` → ``cpu_cores``, 内存/``memory``/``ram_gb`` →
``memory_gb`` (``512 GB`` → 512), 硬盘/``disk`` → ``disks``, 固件/系统/``Firmware`` →
``firmware``. A value that cannot be read (memory ``512G DDR4``) stays under the key it was
written as, and so does a second spelling of a key already there; keys of their own (``role``,
``raid`` ...) are kept as they are. Nothing is dropped.

The spellings are written out here as they were when this migration was made, not imported
from ``assets.specs`` (which may grow): a migration does the same thing whenever it runs.
Downgrading moves ``cpu_model`` back to ``cpu`` (what the code before read); the rest stays.

Revision ID: 0020_spec_vocabulary
Revises: 0019_patrol_recurrence
Create Date: 2026-12-06 09:30:00.000000
"""

import re
import unicodedata
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0020_spec_vocabulary"
down_revision: str | None = "0019_patrol_recurrence"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

#: each key of the vocabulary and its spellings, compared folded (see ``_fold``)
SPELLINGS = {
    "cpu_model": "cpu_model cpu processor 处理器 cpu型号 cpumodel cputype",
    "cpu_cores": "cpu_cores cores cpucores cpucount 核数 cpu核数 cpu核心数 核心数",
    "memory_gb": "memory_gb memory memory(gb) mem ram ramgb 内存 内存gb 内存(gb) 内存容量",
    "disks": "disks disk 磁盘 硬盘 drives",
    "firmware": "firmware firmware/os 固件 系统 固件/系统 固件版本 os firmwareversion 操作系统",
}
ORDER = list(SPELLINGS)
SIZE = re.compile(r"^([0-9]+(?:\.[0-9]+)?)(gb|g|gib|tb|t|tib|mb|m|mib)?$")
WHOLE = re.compile(r"^([0-9]+)(cores?|c|核)?$")


def _fold(name: Any) -> str:
    return re.sub(r"[\s_\-]+", "", unicodedata.normalize("NFKC", str(name))).casefold()


KEY_OF = {_fold(word): key for key, words in SPELLINGS.items() for word in words.split()}


def _read(key: str, value: Any) -> Any:
    """The value as the vocabulary stores it, or None when it cannot be read."""
    if isinstance(value, bool):
        return None
    if key not in ("memory_gb", "cpu_cores"):
        return value.strip() if isinstance(value, str) else value
    text = _fold(value).replace(",", "")
    if key == "cpu_cores":
        whole = WHOLE.match(text)
        return int(whole[1]) if whole and int(whole[1]) > 0 else None
    size = SIZE.match(text)
    if size is None or float(size[1]) <= 0:
        return None
    gb = float(size[1]) * {"g": 1.0, "t": 1024.0, "m": 1 / 1024}[(size[2] or "g")[0]]
    return int(gb) if gb.is_integer() else round(gb, 3)


def on_vocabulary(specs: dict[str, Any]) -> dict[str, Any]:
    """``specs`` with every readable spelling of a known key moved onto that key."""
    moved: dict[str, Any] = {}
    kept: dict[str, Any] = {}
    # the vocabulary's own spelling first, so it wins over another spelling of the same key
    for name, value in sorted(specs.items(), key=lambda kv: kv[0] not in SPELLINGS):
        key = KEY_OF.get(_fold(name))
        read = None if key is None or key in moved or value in (None, "") else _read(key, value)
        if key is not None and read is not None:
            moved[key] = read
        else:
            kept[name] = value
    return {key: moved[key] for key in ORDER if key in moved} | kept


asset = sa.table("asset", sa.column("id", sa.Integer), sa.column("specs", sa.JSON))


def _rewrite(change: Any) -> None:
    conn = op.get_bind()
    rows = conn.execute(sa.select(asset.c.id, asset.c.specs)).all()
    for asset_id, specs in rows:
        if not isinstance(specs, dict) or not specs:
            continue
        new = change(specs)
        if new != specs or list(new) != list(specs):
            conn.execute(asset.update().where(asset.c.id == asset_id).values(specs=new))


def upgrade() -> None:
    _rewrite(on_vocabulary)


def downgrade() -> None:
    def back(specs: dict[str, Any]) -> dict[str, Any]:
        if "cpu_model" not in specs or "cpu" in specs:
            return specs
        return {("cpu" if k == "cpu_model" else k): v for k, v in specs.items()}

    _rewrite(back)
