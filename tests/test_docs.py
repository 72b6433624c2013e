"""The user docs stand alone and say what the schemas say.

A user has only the repository: no doc may send them to a file outside it. And
docs/history-format.md lists every field and allowed value of the history format itself, so its
tables are compared here with schemas/history.schema.json: a field added to the schema without a
line in the docs (or the reverse) fails this test.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCS = sorted([ROOT / "README.md", ROOT / "CHANGELOG.md", *(ROOT / "docs").glob("*.md")])
SCHEMA = json.loads((ROOT / "schemas" / "history.schema.json").read_text("utf-8"))
FORMAT_DOC = (ROOT / "docs" / "history-format.md").read_text("utf-8")

# What a user cannot follow: the project's private notes live outside the repository.
OUTSIDE = re.compile(r"\bSPEC\b|\.\./shared|DURABLE_RULES")


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: p.name)
def test_no_doc_points_outside_the_repository(doc: Path) -> None:
    bad = [
        f"{doc.name}:{n}: {line.strip()}"
        for n, line in enumerate(doc.read_text("utf-8").splitlines(), 1)
        if OUTSIDE.search(line)
    ]
    assert bad == []


def _tables() -> dict[str, dict[str, tuple[str, str]]]:
    """Each table of the format doc, by the heading or lead-in above it: field → (required, value)."""
    tables: dict[str, dict[str, tuple[str, str]]] = {}
    title = ""
    for line in FORMAT_DOC.splitlines():
        if line.startswith("#"):
            title = line.lstrip("#").strip()
        elif line.rstrip().endswith(":") and not line.startswith(("-", "|", " ")):
            title = line.rstrip().rstrip(":").strip("`")  # a lead-in such as "`candidate`:"
        elif line.startswith("| `"):
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            tables.setdefault(title, {})[cells[0].strip("`")] = (cells[1], cells[2])
    return tables


TABLES = _tables()
DEFS = SCHEMA["$defs"]
EVENT_TYPES = DEFS["event"]["properties"]["type"]["enum"]
COMMON = {"id", "at", "type"}  # said once for every event type, above the tables


def _enum_of(prop: dict[str, object]) -> list[str]:
    ref = prop.get("$ref") or (prop.get("items") or {}).get("$ref")
    if isinstance(ref, str):
        target = DEFS[ref.rsplit("/", 1)[1]]
        return [str(v) for v in target.get("enum", [])]
    return [str(v) for v in prop.get("enum", [])]


@pytest.mark.parametrize("name", EVENT_TYPES)
def test_every_event_field_is_documented_with_its_values(name: str) -> None:
    schema = DEFS[name]
    documented = TABLES[name]
    fields = set(schema["properties"]) - COMMON
    assert set(documented) == fields
    required = set(schema["required"]) - COMMON
    for field, (req, value) in documented.items():
        assert (req == "yes") == (field in required), f"{name}.{field}: required is {req!r}"
        for allowed in _enum_of(schema["properties"][field]):
            assert f"`{allowed}`" in value, f"{name}.{field}: value {allowed!r} not listed"


@pytest.mark.parametrize(
    ("title", "schema"),
    [
        ("The top level", SCHEMA),
        ("candidate", SCHEMA["properties"]["candidate"]),
        ("A person (an entry of `people`)", DEFS["person"]),
    ],
)
def test_top_level_candidate_and_people_are_documented(title: str, schema: dict[str, object]) -> None:
    documented = TABLES[title]
    properties = schema["properties"]
    assert isinstance(properties, dict)
    assert set(documented) == set(properties)
    for field, (req, value) in documented.items():
        assert (req == "yes") == (field in schema.get("required", [])), field
        for allowed in _enum_of(properties[field]):
            assert f"`{allowed}`" in value, f"{field}: {allowed!r} not listed"


def test_every_event_type_has_its_section() -> None:
    assert [t for t in TABLES if t in EVENT_TYPES] == EVENT_TYPES
