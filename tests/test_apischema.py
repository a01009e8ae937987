"""The API's schema layer (opskit.apischema, opskit.openapi): field-keyed errors in the reader's
language, the shared paging and time range, PATCH bodies, and the generated OpenAPI 3.1."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from types import SimpleNamespace
from typing import Annotated, Any, ClassVar

import pytest
from flask import Blueprint, Flask, Response, session
from flask_babel import Babel
from pydantic import Field

from opskit import clock, openapi
from opskit.apischema import (
    MAX_ID,
    Id,
    Input,
    JsonObject,
    Name,
    Output,
    Paging,
    Text,
    TimeRange,
    one_of,
    parse,
    partial,
)
from opskit.validation import ValidationFailed


class Body(Input):
    name: Annotated[Name, Field(max_length=10)]
    kind: Annotated[str, one_of(("ups", "pdu"))] = "ups"
    rack_id: Id | None = None
    specs: JsonObject = Field(default_factory=dict)
    note: Text = ""


class Readings(Paging, TimeRange):
    max_span: ClassVar[timedelta] = timedelta(days=400)


@pytest.fixture
def in_chinese(app: Flask) -> Iterator[None]:
    with app.test_request_context("/"):
        session["locale"] = "zh_CN"
        yield


@pytest.fixture
def in_english(app: Flask) -> Iterator[None]:
    with app.test_request_context("/"):
        session["locale"] = "en"
        yield


def _errors(model: type, data: dict[str, Any]) -> dict[str, list[str]]:
    with pytest.raises(ValidationFailed) as caught:
        parse(model, data)
    return caught.value.errors


def test_every_wrong_field_is_named_in_chinese(in_chinese: None) -> None:
    errors = _errors(
        Body,
        {"name": "x" * 11, "kind": "toaster", "rack_id": MAX_ID + 1, "colour": 1, "note": "a\x00"},
    )
    assert errors == {
        "name": ["最多 10 个字符。"],
        "kind": ["toaster 不是以下之一：ups, pdu"],
        "rack_id": [f"不能大于 {MAX_ID}。"],
        "note": ["文本不能包含 NUL 字符。"],
        "colour": ["未知字段；可用字段为：name, kind, rack_id, specs, note"],
    }


def test_messages_in_english_and_json_types_are_strict(in_english: None) -> None:
    errors = _errors(Body, {"rack_id": "1", "specs": []})
    assert errors == {
        "name": ["This field is required."],
        "rack_id": ["Expected a whole number."],
        "specs": ["Expected a JSON object."],
    }
    assert _errors(Body, {"name": "  "}) == {"name": ["This field is required."]}
    nested: Any = "deep"
    for _ in range(30):
        nested = [nested]
    assert list(_errors(Body, {"name": "x", "specs": {"a": nested}})) == ["specs"]


def test_a_patch_body_takes_only_what_is_given(in_english: None) -> None:
    patch = partial(Body)
    assert patch.__name__ == "BodyPatch"
    assert parse(patch, {"rack_id": None}).model_dump(exclude_unset=True) == {"rack_id": None}
    assert _errors(patch, {"name": None}) == {"name": ["Expected text."]}
    assert "required" not in patch.model_json_schema()


def test_a_page_of_ten_million_and_a_range_of_fifty_years_are_refused(in_chinese: None) -> None:
    assert _errors(Readings, {"per_page": "10000000"}) == {"per_page": ["不能大于 500。"]}
    assert parse(Readings, {"page": "2"}).page == 2
    now = clock.now()
    since = (now - timedelta(days=50 * 365)).isoformat()
    assert _errors(Readings, {"since": since}) == {"since": ["时间范围最多 400 天。"]}
    naive = now.replace(tzinfo=None).isoformat()
    assert list(_errors(Readings, {"until": naive})) == ["until"]
    ok = parse(Readings, {"since": (now - timedelta(days=7)).isoformat()})
    assert ok.bounds()[1] - ok.bounds()[0] >= timedelta(days=7)
    assert list(_errors(Readings, {"since": now.isoformat(), "until": since})) == ["until"]


def test_the_generated_document_is_openapi_3_1(app: Flask) -> None:
    doc = openapi.document("t", "1")
    assert doc["openapi"] == "3.1.0"
    schemas = doc["components"]["schemas"]
    listing = doc["paths"]["/api/v1/assets"]["get"]
    page = listing["responses"]["200"]["content"]["application/json"]["schema"]
    assert page == {"$ref": "#/components/schemas/AssetOutPage"}
    assert schemas["AssetOutPage"]["properties"]["items"]["items"]["$ref"].endswith("/AssetOut")
    per_page = next(p for p in listing["parameters"] if p["name"] == "per_page")
    assert per_page["schema"]["maximum"] == 500 and per_page["in"] == "query"
    kind = next(p for p in listing["parameters"] if p["name"] == "kind")
    assert "anyOf" not in kind["schema"] and "ups" in kind["schema"]["enum"]  # never null
    assert set(listing["responses"]) == {"200", "401", "422"}
    delete = doc["paths"]["/api/v1/assets/{asset_id}"]["delete"]
    assert set(delete["responses"]) == {"204", "401", "403", "404", "409"}
    assert delete["x-writes"] is True
    refs = [v for v in _walk(doc) if isinstance(v, str) and v.startswith("#/")]
    assert all(ref.rsplit("/", 1)[1] in schemas for ref in refs)


def _walk(value: Any) -> Iterator[Any]:
    if isinstance(value, dict):
        for item in value.values():
            yield from _walk(item)
    elif isinstance(value, list):
        for item in value:
            yield from _walk(item)
    else:
        yield value


@pytest.fixture
def scratch() -> Iterator[tuple[Flask, Any]]:
    """A bare app with one blueprint of test operations, taken out of the document after."""
    before = dict(openapi.OPERATIONS)
    bp = Blueprint("scratch_api", __name__, url_prefix="/scratch")
    app = Flask(__name__)
    Babel(app)
    yield app, bp
    openapi.OPERATIONS.clear()
    openapi.OPERATIONS.update(before)


class Thing(Output):
    id: int
    name: str


def test_file_created_and_empty_answers(scratch: tuple[Flask, Any]) -> None:
    app, bp = scratch

    @openapi.operation(
        bp,
        "GET",
        "/things/<int:thing_id>/file",
        response=openapi.File("text/csv"),
        tag="t",
        summary="Download",
    )
    def download(thing_id: int) -> Any:
        return Response(f"id\n{thing_id}\n", mimetype="text/csv")

    @openapi.operation(
        bp,
        "POST",
        "/things",
        body=Body,
        response=Thing,
        status=201,
        tag="t",
        summary="Make",
        writes=False,
    )
    def make(body: Body) -> Any:
        return openapi.Created(SimpleNamespace(id=7, name=body.name), "/scratch/things/7")

    @openapi.operation(bp, "DELETE", "/things/<int:thing_id>", tag="t", summary="Drop")
    def drop(thing_id: int) -> None:
        return None

    app.register_blueprint(bp)
    client = app.test_client()
    assert client.get("/scratch/things/3/file").get_data(as_text=True) == "id\n3\n"
    made = client.post("/scratch/things", json={"name": "ups"})
    assert made.status_code == 201 and made.headers["Location"] == "/scratch/things/7"
    assert made.get_json() == {"id": 7, "name": "ups"}
    assert client.delete("/scratch/things/3").status_code == 204
    assert app.view_functions["scratch_api.make"].opskit_viewers_too is True  # type: ignore[attr-defined]
    paths = openapi.document("t", "1")["paths"]
    got = paths["/scratch/things/{thing_id}/file"]["get"]["responses"]["200"]["content"]
    assert got == {"text/csv": {"schema": {"type": "string", "format": "binary"}}}
    assert "403" not in paths["/scratch/things"]["post"]["responses"]
    assert set(paths["/scratch/things/{thing_id}"]["delete"]["responses"]) == {"204", "401", "403"}
