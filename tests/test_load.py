"""Loading YAML/JSON with positions, and finding history sources (files, folders, stdin)."""

from __future__ import annotations

import io
import sys
from pathlib import Path

import pytest

from followup.diagnostics import InputError, Problem, escape_segment
from followup.io import STDIN_NAME, Source, iter_sources, load_document, load_json
from followup.io.yamldoc import DocumentName


def yaml_problems(text: str) -> list[Problem]:
    with pytest.raises(InputError) as caught:
        load_document(text, "h.yaml")
    return caught.value.problems


def json_problems(text: str, line_offset: int = 0) -> list[Problem]:
    with pytest.raises(InputError) as caught:
        load_json(text, "h.jsonl", line_offset)
    return caught.value.problems


# -- YAML -----------------------------------------------------------------------------------------


def test_yaml_positions_of_values_and_keys() -> None:
    data, positions = load_document("version: 1\nevents:\n  - {id: i1, with: [kim, lee]}\n", "h")
    assert data == {"version": 1, "events": [{"id": "i1", "with": ["kim", "lee"]}]}
    assert positions[""] == (1, 1)
    assert positions["/version#key"] == (1, 1)
    assert positions["/version"] == (1, 10)
    assert positions["/events"] == (3, 3)
    assert positions["/events/0"] == (3, 5)
    assert positions["/events/0/id#key"] == (3, 6)
    assert positions["/events/0/id"] == (3, 10)
    assert positions["/events/0/with/1"] == (3, 26)


def test_yaml_pointer_segments_are_escaped() -> None:
    _, positions = load_document("a/b: {c~d: 1}\n", "h")
    assert positions["/a~1b/c~0d"] == (1, 12)
    assert escape_segment("a/b~c") == "a~1b~0c"


def test_yaml_times_stay_strings_and_scalars_follow_yaml_1_2() -> None:
    text = (
        "at: 2026-11-02T10:00:00\nday: 2026-11-02\nclock: 10:00\nflag: yes\noff: on\n"
        "hex: 0x1F\noct: 0o17\nneg: -3\nf: 1.5\ninf: -.inf\nnull1: ~\nnull2:\nt: true\n"
        'quoted: "12"\n'
    )
    data, _ = load_document(text, "h")
    assert data == {
        "at": "2026-11-02T10:00:00",
        "day": "2026-11-02",
        "clock": "10:00",
        "flag": "yes",
        "off": "on",
        "hex": 31,
        "oct": 15,
        "neg": -3,
        "f": 1.5,
        "inf": float("-inf"),
        "null1": None,
        "null2": None,
        "t": True,
        "quoted": "12",
    }


def test_yaml_keys_are_the_text_as_written() -> None:
    data, _ = load_document("yes: 1\n1: 2\nnull: 3\n", "h")
    assert data == {"yes": 1, "1": 2, "null": 3}


def test_yaml_syntax_error_has_parser_position() -> None:
    [problem] = yaml_problems("a: [1, 2\nb: 3\n")
    assert (problem.source, problem.line, problem.column) == ("h.yaml", 2, 2)
    assert problem.message.startswith("YAML syntax error: did not find expected ','")


def test_yaml_mapping_value_error() -> None:
    [problem] = yaml_problems("events:\n  - id: e1\n    at: x: y\n")
    assert (problem.line, problem.column) == (3, 10)
    assert "mapping values are not allowed" in problem.message


def test_yaml_duplicate_key_names_the_first() -> None:
    [problem] = yaml_problems("version: 1\nevents: []\nversion: 2\n")
    assert (problem.line, problem.column) == (3, 1)
    assert problem.message == "duplicate key 'version'; first defined at line 1, column 1"
    assert problem.pointer == "/version"


def test_yaml_duplicate_keys_are_all_reported() -> None:
    problems = yaml_problems("a: 1\nb: {x: 1, x: 2}\na: 3\n")
    assert [(p.line, p.column) for p in problems] == [(2, 11), (3, 1)]


@pytest.mark.parametrize(
    ("tag", "value"),
    [
        ("!!python/object/apply:os.system", "['touch {marker}']"),
        ("!!python/name:os.system", "''"),
        ("!!python/object:collections.OrderedDict", "{}"),
        ("!custom", "x"),
        ("!!timestamp", "2026-11-02"),
        ("!!set", "{x, y}"),
        ("!!binary", "aGVsbG8="),
    ],
)
def test_yaml_tags_are_refused(tag: str, value: str, tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    [problem] = yaml_problems(f"a: {tag} {value}\n".replace("{marker}", str(marker)))
    assert (problem.line, problem.column) == (1, 4)
    assert problem.message == f"YAML tag {tag!r} is not allowed: a history is plain data"
    assert not marker.exists()


def test_yaml_standard_tags_are_fine() -> None:
    data, _ = load_document("a: !!str 12\nb: !!int '7'\nc: !!map {x: 1}\n", "h")
    assert data == {"a": "12", "b": 7, "c": {"x": 1}}
    [problem] = yaml_problems("a: !!int seven\n")
    assert problem.message == "'seven' is not a valid !!int"


def test_yaml_aliases_share_values() -> None:
    data, positions = load_document("a: &who [kim]\nb: *who\n", "h")
    assert data == {"a": ["kim"], "b": ["kim"]}
    assert positions["/b"] == (2, 4)


def test_yaml_alias_problems() -> None:
    [undefined] = yaml_problems("a: *nowhere\n")
    assert undefined.message == "alias *nowhere names no anchor defined before it"
    [cycle] = yaml_problems("a: &x [1, *x]\n")
    assert (cycle.line, cycle.column, cycle.message) == (
        1,
        11,
        "alias *x refers to a collection that holds it",
    )


def test_yaml_merge_keys_and_complex_keys_are_refused() -> None:
    [merge] = yaml_problems("base: &b {x: 1}\nc:\n  <<: *b\n")
    assert (merge.line, merge.column) == (3, 3)
    assert "merge keys" in merge.message
    [complex_key] = yaml_problems("? [a]\n: 1\n")
    assert "must be a plain name" in complex_key.message


def test_yaml_one_document_only() -> None:
    [problem] = yaml_problems("a: 1\n---\nb: 2\n")
    assert (problem.line, problem.column) == (2, 1)
    assert "one YAML document" in problem.message


@pytest.mark.parametrize(
    ("kind", "said"), [("history", "a history file"), ("pack", "a pack file"), ("waivers file", "a waivers file")]
)
def test_the_loader_names_the_kind_of_document(kind: DocumentName, said: str) -> None:
    with pytest.raises(InputError) as caught:
        load_document("a: 1\n---\nb: 2\n", "f.yaml", kind=kind)
    assert caught.value.problems[0].message == f"{said} holds one YAML document; found a second one here"
    with pytest.raises(InputError) as caught:
        load_document("a: !!python/name:os.system x\n", "f.yaml", kind=kind)
    assert caught.value.problems[0].message.endswith(f"is not allowed: a {kind} is plain data")


def test_yaml_empty_document_is_none() -> None:
    assert load_document("", "h") == (None, {"": (1, 1)})
    assert load_document("# only a comment\n", "h")[0] is None


def test_yaml_deep_nesting_is_an_error_not_a_crash() -> None:
    [ours] = yaml_problems("[" * 500 + "]" * 500)
    assert ours.message == "nested more than 200 levels deep"
    [libyaml] = yaml_problems("[" * 5000 + "]" * 5000)  # libyaml stops at 1000 itself
    assert "nesting" in libyaml.message or "nested" in libyaml.message


def test_yaml_control_characters() -> None:
    [problem] = yaml_problems("a: x\x07y\n")
    assert (problem.line, problem.column) == (1, 5)
    assert problem.message.startswith("cannot read:")


# -- JSON -----------------------------------------------------------------------------------------


def test_json_positions_single_line_with_offset() -> None:
    text = '{"version": 1, "events": [{"id": "e1", "to": ["kim", "lee"]}, {}]}'
    data, positions = load_json(text, "b.jsonl", line_offset=6)
    assert data == {"version": 1, "events": [{"id": "e1", "to": ["kim", "lee"]}, {}]}
    assert positions[""] == (7, 1)
    assert positions["/version#key"] == (7, 2)
    assert positions["/version"] == (7, 13)
    assert positions["/events/0"] == (7, 27)
    assert positions["/events/0/to/1"] == (7, 54)
    assert positions["/events/1"] == (7, 63)


def test_json_positions_multi_line() -> None:
    text = '{\n  "a": [1,\n    {"b\\"c": "x\\"y"}],\n  "d": null\n}\n'
    data, positions = load_json(text, "h.json")
    assert data == {"a": [1, {'b"c': 'x"y'}], "d": None}
    assert positions["/a/1"] == (3, 5)
    assert positions['/a/1/b"c#key'] == (3, 6)
    assert positions['/a/1/b"c'] == (3, 14)
    assert positions["/d"] == (4, 8)


def test_json_syntax_error_carries_the_real_line() -> None:
    [problem] = json_problems('{"a": 1,, "b": 2}', line_offset=9)
    assert (problem.source, problem.line, problem.column) == ("h.jsonl", 10, 9)
    assert problem.message.startswith("JSON syntax error: Expecting property name")


def test_json_duplicate_key() -> None:
    [problem] = json_problems('{"a": 1, "b": {"x": 1, "x": 2}}', line_offset=2)
    assert (problem.line, problem.column) == (3, 24)
    assert problem.message == "duplicate key 'x'; first defined at line 3, column 16"


def test_json_limits_are_errors_not_crashes() -> None:
    [deep] = json_problems("[" * 100_000 + "]" * 100_000)
    assert deep.message == "cannot read JSON: nested too deeply"
    [nested] = json_problems("[" * 300 + "]" * 300)
    assert "nested more than" in nested.message
    [big] = json_problems("1" * 5000)
    assert big.message.startswith("cannot read JSON:")


# -- sources --------------------------------------------------------------------------------------


def test_directory_recursion_is_sorted_and_skips_others(tmp_path: Path) -> None:
    for name in ["b.yaml", "a/z.yml", "a/y.json", "c.txt", ".hidden/x.yaml", "a.jsonl"]:
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text('{"x": 1}\n')
    names = [Path(s.name).relative_to(tmp_path).as_posix() for s in iter_sources([str(tmp_path)])]
    assert names == ["a/y.json", "a/z.yml", "a.jsonl", "b.yaml"]


def test_formats_follow_the_suffix(tmp_path: Path) -> None:
    (tmp_path / "h.json").write_text("{}")
    (tmp_path / "h.yml").write_text("a: 1")
    formats = {Path(s.name).suffix: s.format for s in iter_sources([str(tmp_path)])}
    assert formats == {".json": "json", ".yml": "yaml"}


def test_jsonl_yields_a_source_per_line(tmp_path: Path) -> None:
    batch = tmp_path / "batch.jsonl"
    batch.write_bytes(b'{"n": 1}\n\n   \n{"n": 2}\r\n{"n": 3}')
    sources = list(iter_sources([str(batch)]))
    assert [(s.text, s.line_offset, s.format) for s in sources] == [
        ('{"n": 1}', 0, "jsonl"),
        ('{"n": 2}', 3, "jsonl"),
        ('{"n": 3}', 4, "jsonl"),
    ]
    assert all(s.name == str(batch) for s in sources)


def test_unreadable_paths_become_problems(tmp_path: Path) -> None:
    missing = str(tmp_path / "missing.yaml")
    (tmp_path / "bad.yaml").write_bytes(b"a: 1\nb: \xff\n")
    (tmp_path / "bad.jsonl").write_bytes(b'{"a": 1}\n{"b": "\xfe"}\n')
    sources = list(iter_sources([missing, str(tmp_path / "bad.yaml"), str(tmp_path / "bad.jsonl")]))
    assert [s.problem is None for s in sources] == [False, False, True, False]
    problems = [s.problem for s in sources if s.problem]
    assert problems[0] == Problem(missing, 1, 1, "cannot read: No such file or directory")
    assert (problems[1].line, problems[1].column) == (2, 4)
    assert problems[1].message == "cannot read: not UTF-8 text (byte 0xff); save the file as UTF-8"
    assert (problems[2].line, problems[2].column) == (2, 8)


def test_empty_directory_is_a_problem(tmp_path: Path) -> None:
    [source] = iter_sources([str(tmp_path)])
    assert source.problem is not None
    assert "no history files" in source.problem.message


def test_byte_order_mark_is_dropped(tmp_path: Path) -> None:
    (tmp_path / "h.yaml").write_bytes(b"\xef\xbb\xbfa: 1\n")
    [source] = iter_sources([str(tmp_path / "h.yaml")])
    assert source.text == "a: 1\n"


def _stdin(monkeypatch: pytest.MonkeyPatch, data: bytes) -> None:
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data)))


def test_stdin_document(monkeypatch: pytest.MonkeyPatch) -> None:
    _stdin(monkeypatch, b"version: 1\nevents: []\n")
    assert list(iter_sources(["-"])) == [Source(STDIN_NAME, "version: 1\nevents: []\n")]


def test_stdin_single_json_object(monkeypatch: pytest.MonkeyPatch) -> None:
    _stdin(monkeypatch, b'{"version": 1}\n')
    [source] = iter_sources(["-"])
    assert (source.name, source.format, source.text) == (STDIN_NAME, "yaml", '{"version": 1}\n')


def test_stdin_json_lines(monkeypatch: pytest.MonkeyPatch) -> None:
    _stdin(monkeypatch, b'{"n": 1}\n\n{"n": 2}\n{"n": 3}\n')
    sources = list(iter_sources(["-"]))
    assert [(s.name, s.line_offset, s.format) for s in sources] == [
        (STDIN_NAME, 0, "jsonl"),
        (STDIN_NAME, 2, "jsonl"),
        (STDIN_NAME, 3, "jsonl"),
    ]


def test_missing_stdin_is_a_problem(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "stdin", None)
    [source] = iter_sources(["-"])
    assert source.problem == Problem(STDIN_NAME, 1, 1, "cannot read: there is no standard input")


def test_a_windows_style_path_gets_a_hint(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from followup.io import iter_sources

    monkeypatch.chdir(tmp_path)
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "h.yaml").write_text("version: 1\n")
    [source] = list(iter_sources(["sub\\h.yaml"]))
    assert source.problem is not None
    assert source.problem.message.endswith("paths use '/' here: did you mean 'sub/h.yaml'?")
