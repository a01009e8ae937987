"""Device profiles: every shipped file validates; a broken one names the file and the field."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from monitors.metrics import KINDS, METRICS
from monitors.profiles import PROFILE_DIR, ProfileError, load_file, load_profiles, parse_profile

REQUIRED = {
    "system",
    "if_mib",
    "host_resources",
    "entity",
    "ups_mib",
    "apc_ups",
    "lldp",
    "arp",
    "apc_inrow",
    "apc_pdu",
    # the vendors of the shared real-device recordings
    "socomec_ups",
    "liebert_gp",
    "apc_cooling_unit",
    "stulz_wib",
    "rittal_lcp_pcoweb",
    "apc_emu",
    "akcp",
    "rittal_cmc3",
    "hwg_poseidon",
}


def test_every_shipped_profile_validates() -> None:
    files = sorted(PROFILE_DIR.glob("*.yaml"))
    profiles = load_profiles(PROFILE_DIR)
    assert len(profiles) == len(files)
    names = {p.name for p in profiles}
    assert names >= REQUIRED
    for path, profile in zip(files, profiles, strict=True):
        assert profile.name == path.stem, f"{path.name}: name should match the file name"
        for spec in profile.metrics:
            assert spec.metric in METRICS
    assert load_profiles() == profiles  # the cached default is the same set


def test_vocabulary_is_consistent() -> None:
    for name, entry in METRICS.items():
        assert entry["kind"] in KINDS, name
        assert set(entry) >= {"unit", "kind", "instance", "description"}, name
        if entry["kind"] == "state":
            assert entry["states"] and entry["unit"] == "", name
    for required in (
        "ups.battery.status",
        "ups.output.source",
        "env.temperature_c",
        "ac.state",
        "pdu.power_w",
        "host.storage.size_bytes",
        "if.out_bps",
    ):
        assert required in METRICS


GOOD = {
    "name": "x",
    "match": {"sys_object_id": ["1.3.6.1.4.1.99"]},
    "metrics": [{"metric": "ups.output.load_percent", "oid": "1.3.6.1.4.1.99.1.0", "unit": "%"}],
}


def _with(path: str, value: object) -> dict:
    """GOOD with the value at a dotted path replaced (a list index as a number)."""
    data = yaml.safe_load(yaml.safe_dump(GOOD))
    keys = path.split(".")
    node = data
    for key in keys[:-1]:
        node = node[int(key)] if isinstance(node, list) else node[key]
    last = keys[-1]
    if isinstance(node, list):
        node[int(last)] = value
    else:
        node[last] = value
    return data


CASES = [
    (_with("name", "Bad Name"), "name", "lower-case"),
    (_with("match", {}), "match", "required"),
    (_with("match", {"sysoid": "1.3"}), "match.sysoid", "unknown key"),
    (
        _with("match", {"sys_object_id": ["enterprises.318"]}),
        "match.sys_object_id[0]",
        "numeric OID",
    ),
    (_with("match", {"sys_descr": "(unclosed"}), "match.sys_descr", "regular expression"),
    (_with("match", {"subtree": "upsMIB"}), "match.subtree", "numeric"),
    (
        _with("match", {"has_oid": "1.3.6.1.2.1.33.1.1.1.0"}),
        "match.has_oid",
        "replaced by subtree",
    ),
    (_with("metrics.0.metric", "ups.load"), "metrics[0].metric", "not in the metric vocabulary"),
    (_with("metrics.0.oid", "1.3.6.x"), "metrics[0].oid", "numeric OID"),
    (_with("metrics.0.unit", "V"), "metrics[0].unit", "does not match the unit"),
    (_with("metrics.0.scale", "ten"), "metrics[0].scale", "non-zero number"),
    (
        _with("metrics.0", {"metric": "ups.output.load_percent"}),
        "metrics[0]",
        "exactly one of",
    ),
    (
        _with(
            "metrics.0",
            {"metric": "ups.output.load_percent", "oid": "1.3.6.1.1.0", "column": "1.3.6.1.1"},
        ),
        "metrics[0]",
        "exactly one of",
    ),
    (
        _with("metrics.0", {"metric": "ups.output.source", "oid": "1.3.6.1.2.1.33.1.4.1.0"}),
        "metrics[0].states",
        "required for state metric",
    ),
    (
        _with(
            "metrics.0",
            {"metric": "ups.output.source", "oid": "1.3.6.1.1.0", "states": {3: "online"}},
        ),
        "metrics[0].states.3",
        "not a state of ups.output.source",
    ),
    (
        _with(
            "metrics.0",
            {
                "metric": "ups.output.source",
                "oid": "1.3.6.1.1.0",
                "states": {3: "normal"},
                "status": {"normal": "fine"},
            },
        ),
        "metrics[0].status.normal",
        "ok, warning or critical",
    ),
    (
        _with(
            "metrics.0",
            {"metric": "host.cpu.load_percent", "oid": "1.3.6.1.1.0", "aggregate": "avg"},
        ),
        "metrics[0].aggregate",
        "only allowed with a table source",
    ),
    (
        _with(
            "metrics.0",
            {"metric": "host.cpu.load_percent", "column": "1.3.6.1.1", "aggregate": "mean"},
        ),
        "metrics[0].aggregate",
        "avg, sum, min, max, first",
    ),
    (
        _with(
            "metrics.0",
            {"metric": "host.cpu.load_percent", "oid": "1.3.6.1.1.0", "states": {1: "up"}},
        ),
        "metrics[0].states",
        "only for state metrics",
    ),
    (
        _with(
            "metrics.0", {"metric": "host.storage.used_percent", "percent": {"used": "1.3.6.1.1"}}
        ),
        "metrics[0].percent",
        "{used: COLUMN, total: COLUMN}",
    ),
    (
        _with(
            "metrics.0",
            {"metric": "pdu.current_a", "column": "1.3.6.1.1", "where": []},
        ),
        "metrics[0].where",
        "non-empty list",
    ),
    (
        _with(
            "metrics.0",
            {
                "metric": "pdu.current_a",
                "column": "1.3.6.1.1",
                "where": [{"column": "1.3.6.1.2", "in": [1]}, {"column": "1.3.6.1.3"}],
            },
        ),
        "metrics[0].where[1]",
        "exactly 'column' and 'in'",
    ),
    (
        _with(
            "metrics.0",
            {"metric": "pdu.current_a", "column": "1.3.6.1.1", "where": {"index": 0, "in": [1]}},
        ),
        "metrics[0].where.index",
        "a part of the row index: 1 the first, -1 the last, got 0",
    ),
    (
        _with("metrics.0", {"metric": "pdu.current_a", "oid": "1.3.6.1.1.0", "skip": 65535}),
        "metrics[0].skip",
        "non-empty list of raw values",
    ),
    (
        _with(
            "metrics.0",
            {"metric": "host.memory.used_percent", "percent": {"total": "1.3.6.1.1", "free": []}},
        ),
        "metrics[0].percent.free",
        "expected a list of columns",
    ),
    (
        _with(
            "metrics.0",
            {
                "metric": "host.memory.used_percent",
                "percent": {"total": "1.3.6.1.1", "free": ["1.3.6.1.2", "memBuffer"]},
            },
        ),
        "metrics[0].percent.free[1]",
        "numeric OID",
    ),
    (
        _with(
            "metrics.0", {"metric": "host.cpu.load_percent", "oid": "1.3.6.1.1.0", "offset": "x"}
        ),
        "metrics[0].offset",
        "expected a number",
    ),
    (_with("metrics", {"a": 1}), "metrics", "expected a list"),
    (
        {**GOOD, "inventory": {"vendor": "1.3.6.1.1.0"}},
        "inventory.vendor",
        "model, serial or firmware",
    ),
    ({**GOOD, "lldp": "yes"}, "lldp", "true or false"),
    ({**GOOD, "asset": {"kind": "toaster"}}, "asset.kind", "expected one of server, switch"),
    ({**GOOD, "asset": {"model": "X"}}, "asset", "kind and/or vendor"),
    ({**GOOD, "colour": "red"}, "colour", "unknown key"),
]


@pytest.mark.parametrize(
    ("data", "field", "message"), CASES, ids=[c[1] + ":" + c[2] for c in CASES]
)
def test_broken_profile_names_file_and_field(data: dict, field: str, message: str) -> None:
    with pytest.raises(ProfileError) as info:
        parse_profile("vendor_x.yaml", data)
    assert info.value.file == "vendor_x.yaml"
    assert info.value.field == field
    assert message in info.value.message
    assert str(info.value).startswith(f"vendor_x.yaml: {field}: ")


def test_good_profile_parses() -> None:
    profile = parse_profile("vendor_x.yaml", GOOD)
    assert profile.matches("1.3.6.1.4.1.99.7", "", {})
    assert not profile.matches("1.3.6.1.4.1.990", "", {})
    why = profile.why("1.3.6.1.4.1.99.7", "", {})
    assert why == "sysObjectID 1.3.6.1.4.1.99.7 is under 1.3.6.1.4.1.99"


def test_a_subtree_matches_when_what_follows_its_root_is_inside_it() -> None:
    profile = parse_profile("vendor_x.yaml", {**GOOD, "match": {"subtree": "1.3.6.1.2.1.33.1"}})
    inside = {"1.3.6.1.2.1.33.1": "1.3.6.1.2.1.33.1.2.1.0"}
    assert profile.why("", "", inside) == (
        "the agent answers under 1.3.6.1.2.1.33.1 (1.3.6.1.2.1.33.1.2.1.0)"
    )
    # what follows is the next MIB (1.3.6.1.2.1.33.10 is not under 1.3.6.1.2.1.33.1), or nothing
    assert not profile.matches("", "", {"1.3.6.1.2.1.33.1": "1.3.6.1.2.1.33.10.1.0"})
    assert not profile.matches("", "", {"1.3.6.1.2.1.33.1": "1.3.6.1.2.1.47.1.1.1.1.2.1"})
    assert not profile.matches("", "", {"1.3.6.1.2.1.33.1": None})
    assert not profile.matches("", "", {})


def test_files_in_a_folder(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text(yaml.safe_dump(GOOD))
    (tmp_path / "b.yaml").write_text(yaml.safe_dump(GOOD))
    with pytest.raises(ProfileError, match=r"^b\.yaml: name: 'x' is already used by a\.yaml"):
        load_profiles(tmp_path)
    (tmp_path / "b.yaml").write_text("name: [unclosed\n")
    with pytest.raises(ProfileError, match=r"^b\.yaml: \(yaml\): not valid YAML"):
        load_file(tmp_path / "b.yaml")


def test_where_list_skip_and_first_parse() -> None:
    entry = {
        "metric": "ac.supply_temperature_c",
        "column": "1.3.6.1.4.1.99.3",
        "where": [
            {"column": "1.3.6.1.4.1.99.2", "in": ["Supply Temperature"]},
            {"column": "1.3.6.1.4.1.99.4", "in": ["C"]},
        ],
        "skip": [-1, 65535],
        "aggregate": "first",
        "scale": 0.1,
    }
    (spec,) = parse_profile("vendor_x.yaml", {**GOOD, "metrics": [entry]}).metrics
    assert spec.where == (
        ("1.3.6.1.4.1.99.2", frozenset({"Supply Temperature"})),
        ("1.3.6.1.4.1.99.4", frozenset({"C"})),
    )
    assert spec.skip == frozenset({"-1", "65535"}) and spec.aggregate == "first"
    assert set(spec.columns) == {"1.3.6.1.4.1.99.3", "1.3.6.1.4.1.99.2", "1.3.6.1.4.1.99.4"}


def test_where_on_a_part_of_the_row_index_parses() -> None:
    """PDU2-MIB rows end in their sensor type: ``{index: -1, in: [1]}`` keeps rmsCurrent rows,
    and reads no column of its own."""
    entry = {
        "metric": "pdu.current_a",
        "column": "1.3.6.1.4.1.99.4",
        "where": [{"index": -1, "in": [1]}, {"column": "1.3.6.1.4.1.99.7", "in": [3]}],
        "scale": 0.001,
    }
    (spec,) = parse_profile("vendor_x.yaml", {**GOOD, "metrics": [entry]}).metrics
    assert spec.where == (("index:-1", frozenset({"1"})), ("1.3.6.1.4.1.99.7", frozenset({"3"})))
    assert set(spec.columns) == {"1.3.6.1.4.1.99.4", "1.3.6.1.4.1.99.7"}


def test_free_percent_and_offset_parse() -> None:
    memory = {
        "metric": "host.memory.used_percent",
        "percent": {"total": "1.3.6.1.4.1.99.5", "free": ["1.3.6.1.4.1.99.6", "1.3.6.1.4.1.99.7"]},
        "aggregate": "first",
    }
    cpu = {"metric": "host.cpu.load_percent", "oid": "1.3.6.1.4.1.99.11.0", "scale": -1}
    cpu["offset"] = 100
    mem, load = parse_profile("vendor_x.yaml", {**GOOD, "metrics": [memory, cpu]}).metrics
    assert mem.percent == ("1.3.6.1.4.1.99.5", "1.3.6.1.4.1.99.5")
    assert mem.free == ("1.3.6.1.4.1.99.6", "1.3.6.1.4.1.99.7")
    assert set(mem.columns) == {"1.3.6.1.4.1.99.5", "1.3.6.1.4.1.99.6", "1.3.6.1.4.1.99.7"}
    assert (load.scale, load.offset) == (-1, 100) and mem.offset == 0


def test_every_shipped_profile_has_a_title_in_the_catalog_and_a_known_asset_kind() -> None:
    """People read a profile's title (translated), never its key; subnet discovery proposes
    the asset kind a matched profile implies (``asset: {kind: ...}``)."""
    from assets.models import AssetKind
    from monitors.formatting import PROFILE_TITLES, profile_title

    listed = {str(t._args[0]) for t in PROFILE_TITLES}
    for profile in load_profiles(PROFILE_DIR):
        assert profile.title, f"{profile.file}: title: required (what people call it)"
        assert profile.title in listed, f"{profile.file}: add {profile.title!r} to PROFILE_TITLES"
        assert profile.asset_kind in {"", *(k.value for k in AssetKind)}
    by_name = {p.name: p for p in load_profiles(PROFILE_DIR)}
    assert (by_name["ups_mib"].asset_kind, by_name["apc_ups"].vendor) == ("ups", "APC")
    assert by_name["apc_pdu"].asset_kind == "pdu"
    assert by_name["apc_inrow"].asset_kind == "precision_ac"
    assert by_name["lldp"].asset_kind == ""  # a standard MIB says nothing of what the device is
    assert profile_title("apc_ups") == "APC Smart-UPS"  # outside a request: the English title
