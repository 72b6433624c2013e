"""Hostile and broken inputs: each gives a located error or a warning, never a hang or a blow-up.

Through the loader API (fast, precise) and end to end through the installed ``followup``
command (in subprocesses with generous timeouts: a hang fails the test, a slow machine does not).
Speed itself is measured by ``benchmarks/hostile.py``, not asserted here.
"""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from followup import diagnostics
from followup.audit import Waiver, Waivers, names_a_file
from followup.diagnostics import InputError, Problem, excerpt
from followup.history import read_history
from followup.io import DEFAULT_MAX_SIZE, MAX_ALIAS_VALUES, Source, iter_sources, load_document, parse_size
from followup.model import Finding, HistoryResult

FOLLOWUP = str(Path(sys.executable).parent / "followup")
AS_OF = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
AS_OF_TEXT = "2026-11-25T12:00Z"
TIMEOUT = 120  # seconds: only to turn a hang into a failure

GOOD = """\
version: 1
candidate: {name: Sam Tester}
people:
  - {id: kim, name: Kim Lee, role: interviewer, company: Acme}
events:
  - {id: i1, at: 2026-11-02T10:00, type: interview, company: Acme, with: [kim]}
"""


def run(*args: str, stdin: bytes | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    done = subprocess.run([FOLLOWUP, *args], input=stdin, capture_output=True, cwd=cwd, timeout=TIMEOUT, check=False)
    return subprocess.CompletedProcess(
        done.args, done.returncode, done.stdout.decode("utf-8", "replace"), done.stderr.decode("utf-8", "replace")
    )


@pytest.fixture
def no_hang() -> Iterator[None]:
    """In-process tests that could block (a named pipe): an alarm turns a hang into a failure."""

    def expire(_signum: int, _frame: object) -> None:
        raise TimeoutError("blocked: the loader waited on a file")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.alarm(60)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def sources(
    paths: list[str], max_size: int = DEFAULT_MAX_SIZE
) -> tuple[list[tuple[str, Problem | None]], list[Problem]]:
    warnings: list[Problem] = []
    found = [(s.name, s.problem) for s in iter_sources(paths, max_size, warnings.append)]
    return found, warnings


def problems_of(text: str, name: str = "h.yaml") -> list[Problem]:
    result = read_history(Source(name, text), AS_OF)
    assert isinstance(result, InputError), result
    return result.problems


# -- unreadable files and folders ----------------------------------------------------------------


def _too_long_folder(top: Path) -> Path:
    """A folder nested past PATH_MAX: no one, root included, can list it by its path."""
    name = "d" * 250
    fd = os.open(top, os.O_RDONLY)
    depth = 0
    try:
        while depth * (len(name) + 1) < 4200:
            os.mkdir(name, dir_fd=fd)
            child = os.open(name, os.O_RDONLY, dir_fd=fd)
            os.close(fd)
            fd = child
            depth += 1
        with open(os.open("h.yaml", os.O_WRONLY | os.O_CREAT, 0o644, dir_fd=fd), "w") as stream:
            stream.write(GOOD)
    finally:
        os.close(fd)
    return top / name


def test_a_folder_that_cannot_be_listed_is_an_error_not_a_skip(tmp_path: Path) -> None:
    (tmp_path / "ok.yaml").write_text(GOOD)
    _too_long_folder(tmp_path)
    found, warnings = sources([str(tmp_path)])
    assert warnings == []
    names = [name for name, problem in found if problem is None]
    assert names == [str(tmp_path / "ok.yaml")]
    [(name, problem)] = [(n, p) for n, p in found if p is not None]
    assert problem is not None and (problem.line, problem.column) == (1, 1)
    assert problem.message.startswith("cannot read this folder: ")
    assert name.startswith(str(tmp_path / ("d" * 250)))


def test_permission_denied_folder_is_reported(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """What chmod 000 does for a user who is not root, simulated so that it holds as root too."""
    (tmp_path / "ok.yaml").write_text(GOOD)
    locked = tmp_path / "locked"
    locked.mkdir()
    (locked / "h.yaml").write_text(GOOD)
    real_scandir = os.scandir

    def scandir(path: str) -> object:
        if os.path.basename(path) == "locked":
            raise PermissionError(13, "Permission denied", path)
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", scandir)
    found, _ = sources([str(tmp_path)])
    assert found == [
        (str(locked), Problem(str(locked), 1, 1, "cannot read this folder: Permission denied")),
        (str(tmp_path / "ok.yaml"), None),
    ]


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads any folder whatever its mode (see the PATH_MAX test)")
def test_chmod_000_folder_and_file_end_to_end(tmp_path: Path) -> None:
    (tmp_path / "ok.yaml").write_text(GOOD)
    locked = tmp_path / "locked"
    locked.mkdir()
    (locked / "h.yaml").write_text(GOOD)
    (tmp_path / "secret.yaml").write_text(GOOD)
    os.chmod(locked, 0)
    os.chmod(tmp_path / "secret.yaml", 0)
    try:
        done = run("audit", str(tmp_path), "--as-of", AS_OF_TEXT)
    finally:
        os.chmod(locked, stat.S_IRWXU)
    assert done.returncode == 2
    assert f"{locked}:1:1: cannot read this folder: Permission denied" in done.stdout
    assert f"{tmp_path / 'secret.yaml'}:1:1: cannot read: Permission denied" in done.stdout
    assert "Sam Tester" in done.stdout


def test_unreadable_folder_end_to_end(tmp_path: Path) -> None:
    (tmp_path / "ok.yaml").write_text(GOOD)
    _too_long_folder(tmp_path)
    done = run("audit", str(tmp_path), "--as-of", AS_OF_TEXT, "--format", "json")
    assert done.returncode == 2, done.stderr
    report = json.loads(done.stdout)
    assert [h["candidate"] for h in report["histories"]] == ["Sam Tester"]
    [error] = report["errors"]
    assert error["message"].startswith("cannot read this folder: ")
    assert "cannot read this folder" in done.stderr


def test_dangling_link_and_link_loop_are_errors(tmp_path: Path) -> None:
    (tmp_path / "gone.yaml").symlink_to(tmp_path / "nowhere.yaml")
    (tmp_path / "loop.yaml").symlink_to(tmp_path / "loop.yaml")
    found, warnings = sources([str(tmp_path)])
    assert warnings == []
    messages = {Path(name).name: problem.message if problem else None for name, problem in found}
    assert messages == {
        "gone.yaml": "cannot read: No such file or directory",
        "loop.yaml": "cannot read: Too many levels of symbolic links",
    }


# -- non-regular files ---------------------------------------------------------------------------


def test_pipes_devices_and_folder_links_in_a_folder_are_skipped_with_a_warning(tmp_path: Path, no_hang: None) -> None:
    (tmp_path / "ok.yaml").write_text(GOOD)
    os.mkfifo(tmp_path / "pipe.yaml")
    (tmp_path / "zero.yaml").symlink_to("/dev/zero")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "h.yaml").write_text(GOOD)
    (tmp_path / "link").symlink_to(tmp_path / "sub")
    found, warnings = sources([str(tmp_path)])
    assert found == [(str(tmp_path / "ok.yaml"), None), (str(tmp_path / "sub" / "h.yaml"), None)]
    assert sorted((Path(w.source).name, w.message) for w in warnings) == [
        ("link", "warning: a link to a folder is not followed; name its target to audit it"),
        ("pipe.yaml", "warning: skipped: a named pipe, not a regular file"),
        ("zero.yaml", "warning: skipped: a character device, not a regular file"),
    ]


def test_a_pipe_or_device_named_directly_is_an_error(tmp_path: Path, no_hang: None) -> None:
    os.mkfifo(tmp_path / "pipe.yaml")
    found, _ = sources([str(tmp_path / "pipe.yaml"), "/dev/zero", "/dev/null"])
    messages = [problem.message if problem else None for _, problem in found]
    assert messages == [
        "cannot read: a named pipe, not a regular file; to read a pipe, pass - and send it to standard input",
        "cannot read: a character device, not a regular file",
        "cannot read: a character device, not a regular file",
    ]


def test_pipes_and_dev_zero_end_to_end(tmp_path: Path) -> None:
    folder = tmp_path / "batch"
    folder.mkdir()
    (folder / "ok.yaml").write_text(GOOD)
    os.mkfifo(folder / "pipe.yaml")
    (folder / "zero.jsonl").symlink_to("/dev/zero")
    done = run("audit", str(folder), "--as-of", AS_OF_TEXT, "--fail-on", "never")
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"{folder / 'pipe.yaml'}:1:1: warning: skipped: a named pipe" in done.stderr
    assert "Sam Tester" in done.stdout
    done = run("audit", str(folder / "pipe.yaml"), "/dev/zero", str(folder / "ok.yaml"), "--as-of", AS_OF_TEXT)
    assert done.returncode == 2
    assert "pipe.yaml:1:1: cannot read: a named pipe, not a regular file" in done.stdout
    assert "/dev/zero:1:1: cannot read: a character device, not a regular file" in done.stdout
    assert "Sam Tester" in done.stdout


def test_dev_zero_on_stdin_stops_at_the_limit() -> None:
    with open("/dev/zero", "rb") as zero:
        done = subprocess.run(
            [FOLLOWUP, "audit", "-", "--as-of", AS_OF_TEXT, "--max-history-size", "1MiB"],
            stdin=zero,
            capture_output=True,
            text=True,
            timeout=TIMEOUT,
            check=False,
        )
    assert done.returncode == 2
    assert "<stdin>:1:1: cannot read: this history is larger than the 1 MiB limit; " in done.stdout


# -- the size limit ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "size"),
    [("16MiB", 16 * 2**20), ("32 MiB", 32 * 2**20), ("500KiB", 500 * 1024), ("1G", 2**30), ("4096", 4096),
     ("2mb", 2 * 2**20), ("1.5KiB", 1536)],
)  # fmt: skip
def test_sizes_with_units(text: str, size: int) -> None:
    assert parse_size(text) == size


@pytest.mark.parametrize("text", ["", "MiB", "12XB", "-1", "0"])
def test_bad_sizes(text: str) -> None:
    with pytest.raises(ValueError, match="size"):
        parse_size(text)


def test_a_file_over_the_limit_is_refused_naming_the_limit_and_option(tmp_path: Path) -> None:
    big = tmp_path / "big.yaml"
    big.write_text(GOOD + "#" * 2000 + "\n")
    ok = tmp_path / "ok.yaml"
    ok.write_text(GOOD)
    found, _ = sources([str(big), str(ok)], max_size=2000)
    assert found == [
        (
            str(big),
            Problem(
                str(big),
                1,
                1,
                "cannot read: this history is larger than the 1.953 KiB limit; "
                "raise it with --max-history-size if it is genuine",
            ),
        ),
        (str(ok), None),
    ]
    exact = tmp_path / "exact.yaml"
    exact.write_bytes(b"x" * 2000)
    assert sources([str(exact)], max_size=2000)[0] == [(str(exact), None)]


def test_jsonl_limit_is_per_line(tmp_path: Path) -> None:
    line = json.dumps({"version": 1, "candidate": {"name": "Sam"}, "events": []})
    long_line = json.dumps({"version": 1, "candidate": {"name": "L" * 500}, "events": []})
    batch = tmp_path / "b.jsonl"
    batch.write_text("\n".join([line, long_line, "", line]) + "\n")
    found = list(iter_sources([str(batch)], max_size=200))
    assert [(s.line_offset, s.problem.message if s.problem else None) for s in found] == [
        (0, None),
        (1, "cannot read: this line (one history) is larger than the 200 bytes limit; "
            "raise it with --max-history-size if it is genuine"),
        (3, None),
    ]  # fmt: skip
    assert found[1].problem is not None and found[1].problem.line == 2


def test_size_limit_end_to_end_file_and_stdin(tmp_path: Path) -> None:
    big = tmp_path / "big.yaml"
    with big.open("w") as stream:
        stream.write(GOOD)
        stream.write(("# " + "x" * 1022 + "\n") * (16 * 1024 + 1))  # just over 16 MiB
    done = run("audit", str(big), "--as-of", AS_OF_TEXT)
    assert done.returncode == 2
    assert "big.yaml:1:1: cannot read: this history is larger than the 16 MiB limit" in done.stdout
    done = run("audit", str(big), "--as-of", AS_OF_TEXT, "--max-history-size", "17MiB", "--fail-on", "never")
    assert done.returncode == 0, done.stdout
    done = run("audit", "-", "--as-of", AS_OF_TEXT, "--max-history-size", "100", stdin=GOOD.encode())
    assert done.returncode == 2
    assert "<stdin>:1:1: cannot read: this history is larger than the 100 bytes limit" in done.stdout
    done = run("audit", "-", "--as-of", AS_OF_TEXT, "--max-history-size", "lots")
    assert done.returncode == 2 and "'lots' is not a size" in done.stderr


# -- aliases, huge values: short messages --------------------------------------------------------


def alias_bomb(levels: int = 9) -> str:
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    previous = "a"
    for name in "bcdefghijklmn"[: levels - 1]:
        lines.append(f"{name}: &{name} [" + ",".join([f"*{previous}"] * 9) + "]")
        previous = name
    return (
        "x:\n"
        + "\n".join("  " + line for line in lines)
        + f"\nversion: *{previous}\ncandidate: {{name: B}}\nevents: []\n"
    )


def test_alias_bomb_in_a_history_is_one_located_error() -> None:
    [problem] = problems_of(alias_bomb())
    assert (problem.line, problem.column) == (2, 6)
    assert problem.message == (
        "YAML anchors and aliases (&name, *name) are not allowed in a history: write the values out"
    )


def test_plain_alias_in_a_history_is_refused_too() -> None:
    [problem] = problems_of(GOOD.replace("with: [kim]", "with: &w [kim]"))
    assert problem.line == 6 and "anchors and aliases" in problem.message


def test_alias_bomb_in_a_pack_or_waivers_file_stops_at_the_budget() -> None:
    with pytest.raises(InputError) as caught:
        load_document(alias_bomb(), "pack.yaml")
    [problem] = caught.value.problems
    assert problem.message == (
        f"YAML aliases here repeat more than {MAX_ALIAS_VALUES:,} values in all; write the values out"
    )
    # Ordinary sharing stays allowed outside histories.
    data, _ = load_document("a: &p {within: 24h}\nb: *p\nc: *p\n", "pack.yaml")
    assert data == {"a": {"within": "24h"}, "b": {"within": "24h"}, "c": {"within": "24h"}}


def test_alias_bomb_end_to_end(tmp_path: Path) -> None:
    (tmp_path / "bomb.yaml").write_text(alias_bomb())
    (tmp_path / "ok.yaml").write_text(GOOD)
    done = run("audit", str(tmp_path), "--as-of", AS_OF_TEXT)
    assert done.returncode == 2
    assert "bomb.yaml:2:6: YAML anchors and aliases" in done.stdout
    assert "Sam Tester" in done.stdout
    assert len(done.stdout) < 2000


@pytest.mark.parametrize("form", ["yaml", "json"])
def test_a_100000_digit_number_is_never_copied_into_a_message(form: str) -> None:
    digits = "7" * 100_000
    if form == "yaml":
        text, name = GOOD.replace("version: 1", f"version: {digits}"), "h.yaml"
    else:
        text, name = '{"version": ' + digits + ', "candidate": {"name": "S"}, "events": []}', "h.json"
    result = read_history(Source(name, text, format=form), AS_OF)
    assert isinstance(result, InputError)
    [problem] = result.problems
    assert problem.line == 1
    assert "too long to read" in problem.message
    assert len(problem.message) < 120 and "set_int_max_str_digits" not in problem.message


def test_long_texts_are_quoted_as_short_excerpts() -> None:
    long_type = "x" * 100_000
    [problem] = problems_of(GOOD + f"  - {{id: e1, at: 2026-11-03T10:00, type: {long_type}}}\n")
    assert (
        problem.message
        == f"unknown event type {excerpt(long_type)}; expected one of: " + problem.message.split("expected one of: ")[1]
    )
    assert "'" + "x" * 60 + "…'" in problem.message and len(problem.message) < 400
    [problem] = problems_of(GOOD.replace("with: [kim]", f"with: [{'k' * 50_000}]"))
    assert problem.message.startswith("unknown person '" + "k" * 60 + "…' in 'with'")


def test_excerpt() -> None:
    assert excerpt("kim") == "'kim'"
    assert excerpt("a" * 61) == "'" + "a" * 60 + "…'"
    assert excerpt(10**70) == "a very large integer"
    assert excerpt(12) == "12"
    assert excerpt([[1]] * 5) == "a list of 5 items"
    assert excerpt({"a": 1}) == "a mapping of 1 keys"


# -- instants: range and leap seconds ------------------------------------------------------------

OUT_OF_RANGE = [
    "0001-01-01T00:30+05:00",  # before year 1 once in UTC
    "9999-12-31T23:59-05:00",  # after year 9999 once in UTC
    "9999-12-30T10:00",  # representable, but a due date after it is not
    "1899-12-31T23:59Z",
    "9000-01-01T00:00Z",
]


@pytest.mark.parametrize("moment", OUT_OF_RANGE)
def test_instants_out_of_range_are_located_errors(moment: str) -> None:
    text = GOOD.replace("at: 2026-11-02T10:00", f"at: '{moment}'")
    [problem] = problems_of(text)
    assert (problem.line, problem.column) == (6, 18)
    assert problem.message == (
        f"time {moment!r} is out of range: followup handles times from 1900 to 8999 (UTC), "
        "so that due dates computed from them stay valid dates"
    )


def test_instants_at_the_edges_of_the_range_are_fine() -> None:

    for moment in ("1900-01-01T00:00Z", "8999-12-31T23:59:59Z"):  # interviews may be upcoming
        text = GOOD.replace("at: 2026-11-02T10:00", f"at: '{moment}'")
        result = read_history(Source("h.yaml", text), AS_OF)
        assert not isinstance(result, InputError), result.problems


def test_ends_out_of_range_and_timezone_overflow() -> None:
    text = GOOD.replace("with: [kim]", "with: [kim], ends: '9999-12-31T23:59'").replace(
        "version: 1", "version: 1\ntimezone: Pacific/Kiritimati"
    )
    [problem] = problems_of(text)
    assert problem.line == 7 and "'9999-12-31T23:59' is out of range" in problem.message


def test_leap_second_is_named() -> None:
    text = GOOD.replace("at: 2026-11-02T10:00", "at: '2016-12-31T23:59:60Z'")
    [problem] = problems_of(text)
    assert (
        problem.message == "time '2016-12-31T23:59:60Z': leap seconds are not supported; write '2016-12-31T23:59:59Z'"
    )


def test_one_history_out_of_range_does_not_stop_the_batch_end_to_end(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text(GOOD.replace("2026-11-02T10:00", "'0001-01-01T00:30+05:00'"))
    (tmp_path / "b.yaml").write_text(GOOD.replace("2026-11-02T10:00", "'9999-12-30T10:00'"))
    (tmp_path / "c.yaml").write_text(GOOD)
    done = run("audit", str(tmp_path), "--as-of", AS_OF_TEXT, "--format", "json")
    assert done.returncode == 2, done.stderr
    report = json.loads(done.stdout)
    assert [h["candidate"] for h in report["histories"]] == ["Sam Tester"]
    assert [Path(e["source"]).name for e in report["errors"]] == ["a.yaml", "b.yaml"]
    assert all("out of range" in e["message"] for e in report["errors"])


@pytest.mark.parametrize(
    ("as_of", "words"),
    [
        ("9999-12-31T23:59-05:00", "is out of range: followup handles times from 1900 to 8999"),
        ("0001-01-01T00:30+05:00", "is out of range"),
        ("2016-12-31T23:59:60Z", "leap seconds are not supported; write '2016-12-31T23:59:59Z'"),
    ],
)
def test_as_of_is_range_checked(tmp_path: Path, as_of: str, words: str) -> None:
    (tmp_path / "ok.yaml").write_text(GOOD)
    done = run("audit", str(tmp_path / "ok.yaml"), "--as-of", as_of)
    assert done.returncode == 2
    assert "--as-of" in done.stderr and words in done.stderr and "internal error" not in done.stderr


# -- did-you-mean stays bounded ------------------------------------------------------------------


def many_people(count: int, unknown: list[str]) -> str:
    people = "".join(f"  - {{id: person-{i:04d}, name: P {i}, role: recruiter}}\n" for i in range(count))
    events = "".join(
        f"  - {{id: e{i}, at: 2026-11-02T10:00, type: email, direction: sent, to: [{name}]}}\n"
        for i, name in enumerate(unknown)
    )
    return f"version: 1\ncandidate: {{name: S}}\npeople:\n{people}events:\n{events}"


def test_2000_unknown_ids_among_2000_people_still_get_typo_suggestions() -> None:
    unknown = [f"ghost-{i:04d}" for i in range(1999)] + ["persno-0042"]
    found = problems_of(many_people(2000, unknown))
    assert len(found) == 2000
    assert all(p.message.startswith("unknown person ") for p in found)
    assert found[-1].message == "unknown person 'persno-0042' in 'to'; did you mean 'person-0042'?"


def test_suggestions_stop_when_the_budget_is_spent(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(diagnostics, "SUGGESTION_BUDGET", 25)
    found = problems_of(many_people(10, ["persn-0001", "persn-0002", "persn-0003", "persn-0004"]))
    hints = ["did you mean" in p.message for p in found]
    assert hints == [True, True, False, False]  # 10 options compared per word: 2 words fit in 25


def test_2000_unknown_ids_end_to_end(tmp_path: Path) -> None:
    (tmp_path / "h.yaml").write_text(many_people(2000, [f"ghost-{i:04d}" for i in range(2000)]))
    done = run("audit", str(tmp_path / "h.yaml"), "--as-of", AS_OF_TEXT)
    assert done.returncode == 2
    assert done.stdout.count("unknown person 'ghost-") == 2000


# -- waivers: a name is a candidate or a file, never both ----------------------------------------


def result_for(source: str, candidate: str) -> HistoryResult:
    finding = Finding("no-friending-interviewer", "violation", "error", "s1", "kim", ("s1",), None, "m")
    return HistoryResult(source, candidate, (finding,))


def waivers(*histories: str) -> Waivers:
    entries = tuple(
        Waiver("no-friending-interviewer", h, None, "r", "coach", date(2027, 1, 1), "w.yaml", n + 1, 3)
        for n, h in enumerate(histories)
    )
    return Waivers(entries, AS_OF)


def waived(w: Waivers, result: HistoryResult) -> bool:
    return w.apply(result).findings[0].waived is not None


def test_candidate_waiver_does_not_match_a_file_of_that_name(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert not waived(waivers("Sam Tester"), result_for("Sam Tester", "Someone Else"))
    assert waived(waivers("Sam Tester"), result_for("exports/any.yaml", "Sam Tester"))


def test_path_waiver_does_not_match_a_candidate_of_that_name(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert not waived(waivers("exports/sam.yaml"), result_for("other.yaml", "exports/sam.yaml"))
    assert not waived(waivers("sam.yaml"), result_for("other.yaml", "sam.yaml"))
    assert waived(waivers("./exports/sam.yaml"), result_for("exports/sam.yaml", "Sam"))
    assert waived(waivers(str(tmp_path / "sam.yaml")), result_for("sam.yaml", "Sam"))


@pytest.mark.parametrize(
    ("history", "is_file"),
    [("Jane Doe", False), ("jane.yaml", True), ("b.jsonl:3", True), ("exports/jane", True), (r"x\y", True),
     ("<stdin>", True), ("Dr. Yaml", False)],
)  # fmt: skip
def test_names_a_file(history: str, is_file: bool) -> None:
    assert names_a_file(history) is is_file


def test_an_empty_json_lines_file_is_named_not_dropped(tmp_path: Path) -> None:
    from followup.io import iter_sources

    (tmp_path / "empty.jsonl").write_bytes(b"\n  \n")
    [source] = list(iter_sources([str(tmp_path / "empty.jsonl")]))
    assert source.text is None and source.problem is not None
    assert (source.problem.line, source.problem.column) == (1, 1)
    assert "this JSON Lines file is empty" in source.problem.message
