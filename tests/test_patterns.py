"""Text patterns run by RE2: they mean what Python's ``re`` meant, on text in every language, and no
text makes them slow (checked for "does not hang" with a generous subprocess timeout)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import make_history, thank_you_events
from followup.compile import Patterns, history_facts
from followup.pack import PatternError, compile_patterns, load_pack, pattern_problem, translate

FOLLOWUP = str(Path(sys.executable).parent / "followup")
STAFF_PATTERNS = ["([ā-ž]+)+$", "(.*a)+x", r"(\w*a)+x", "(.*a){10}x"]


@pytest.fixture(scope="module")
def default() -> Patterns:
    return Patterns(load_pack("interview-follow-up").patterns)


def flags(patterns: Patterns, text: str) -> set[str]:
    return {n for n in ("thanks", "interest", "fit", "contact_info", "interview") if patterns.matches(n, text)}


# -- the default pack, on text with accents -------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # contact details whose words have accents: \w covers every script
        ("Schreiben Sie mir: jürgen.müller@bücher.de", {"contact_info"}),
        ("Écrivez à françois.lefèvre@exemple.fr", {"contact_info"}),
        ("Mój adres: łukasz.żółć@poczta.pl", {"contact_info"}),
        ("Escríbame a begoña.ñúñez@correo.es", {"contact_info"}),
        ("Pište na jiří.dvořák@seznam.cz", {"contact_info"}),
        ("Bana yazın: şükrü.öztürk@posta.com.tr", {"contact_info"}),
        ("Telefon: +49 (0)30 123 456 78", {"contact_info"}),
        ("Téléphone : ٠١٢٣٤٥٦٧٨٩ (arabic-indic digits are digits)", {"contact_info"}),
        # a word starts after a non-letter, whatever the script before it
        ("Grüße und thanks a lot", {"thanks"}),
        ("Déjà très intéressé — I look forward to working with you", {"interest"}),
        ("Mi experiencia: ¡strong skills!", {"fit"}),
        ("Teşekkürler, my skills fit; interview went well", {"fit", "interview"}),
        # ...and not inside a word whose letter before or after has an accent (RE2's ASCII \b would say yes)
        ("déjàinterested, überthankful, żinterview", set()),
        ("fité, skillsé, ñfit", set()),
        ("outfit, fitness, misfit", set()),
        ("GOOD FIT, great Fit.", {"fit"}),
        ("THANK YOU, Ärger", {"thanks"}),
    ],
)
def test_default_pack_flags_in_several_languages(default: Patterns, text: str, expected: set[str]) -> None:
    assert flags(default, text) == expected
    # the same answer Python's re (Unicode \w, \b, \d) gives: semantics unchanged
    pack = load_pack("interview-follow-up").patterns
    by_re = {n for n, items in pack.items() if any(re.search(p, text, re.IGNORECASE) for p in items)}
    assert by_re == expected


# -- staff patterns in several languages -----------------------------------------------------------

WORDS = {
    "thanks": [r"\bdanke\b", r"\bmerci\b", r"\bdziękuję\b", r"\bgracias\b", r"\bděkuji\b", r"\bteşekkür"],
    "interest": [r"\binteressiert", r"\bintéress", r"\bzainteresowan", r"\binteresad[oa]\b", r"\bzájem\b", r"\bilgi"],
    "fit": [r"\berfahrung\b", r"\bexpérience\b", r"\bdoświadczeni", r"\bexperiencia\b", r"\bzkušenost", r"\bdeneyim"],
}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Vielen DANKE! Ich bin sehr interessiert; meine Erfahrung passt.", {"thanks", "interest", "fit"}),
        ("Merci ! Très intéressée par le poste, mon expérience y répond.", {"thanks", "interest", "fit"}),
        ("Dziękuję! Jestem zainteresowana, moje doświadczenie pasuje.", {"thanks", "interest", "fit"}),
        ("¡Gracias! Estoy interesada; mi experiencia encaja.", {"thanks", "interest", "fit"}),
        ("Děkuji! Mám zájem, moje zkušenosti sedí.", {"thanks", "interest", "fit"}),
        ("Teşekkür ederim! Bu işle ilgileniyorum, deneyimim uygun.", {"thanks", "interest", "fit"}),
        # inside longer words (letters with accents on the other side of \b): no
        ("podziękujęmy, grâcias, mercié, dankeschön, děkujiž", set()),
        ("Erfahrungen, expériences, experiencias, ázájem", set()),
    ],
)
def test_staff_patterns_in_several_languages(text: str, expected: set[str]) -> None:
    patterns = Patterns({name: tuple(items) for name, items in WORDS.items()})
    assert {n for n in WORDS if patterns.matches(n, text)} == expected
    by_re = {n for n, items in WORDS.items() if any(re.search(p, text, re.IGNORECASE) for p in items)}
    assert by_re == expected


def test_mentions_of_companies_with_accents() -> None:
    history = make_history(
        [
            {"id": "i1", "at": "2026-11-02T10:00Z", "type": "interview", "company": "Müller & Söhne", "with": ["kim"]},
            {"id": "i2", "at": "2026-11-03T10:00Z", "type": "interview", "company": "Société Générale", "with": ["bo"]},
            {"id": "i3", "at": "2026-11-04T10:00Z", "type": "interview", "company": "Żabka Polska", "with": ["kim"]},
            {"id": "i4", "at": "2026-11-05T10:00Z", "type": "interview", "company": "Señor Café", "with": ["bo"]},
            {"id": "i5", "at": "2026-11-06T10:00Z", "type": "interview", "company": "Škoda", "with": ["kim"]},
            {"id": "i6", "at": "2026-11-07T10:00Z", "type": "interview", "company": "Türk Telekom", "with": ["bo"]},
            {
                "id": "p1",
                "at": "2026-11-08T10:00Z",
                "type": "social",
                "action": "post",
                "body": "Interviews at MÜLLER & SÖHNE, société générale, ŻABKA POLSKA, señor café, ŠKODA and TÜRK TELEKOM!",
            },
            {
                "id": "p2",
                "at": "2026-11-08T11:00Z",
                "type": "social",
                "action": "post",
                "body": "Mueller, Societe, Skoda",
            },
        ]
    )
    facts = history_facts(history, Patterns({"interview": (r"\binterview",)}))
    mentioned = {(f["event"], f["company"]) for f in facts if f["t"] == "mention"}
    assert mentioned == {
        ("p1", c) for c in ("müller & söhne", "société générale", "żabka polska", "señor café", "škoda", "türk telekom")
    }
    [post, plain] = [f for f in facts if f["t"] == "social"]
    assert post["interview_word"] is True and plain["interview_word"] is False


# -- what Python's re meant, RE2 means ---------------------------------------------------------------

_ATOMS = ["a", "é", "Ö", "ñ", "ł", "ş", "1", "٣", " ", "-", ".", r"\w", r"\W", r"\d", r"\D", r"\s", r"\S"]
_ATOMS += ["[a-z]", r"[\w-]", r"[^\w]", r"[\W_]", "[é ]", "_", r"\.", "[ā-ž]", "i", "İ", "[h-j]", "[^ı]", r"\x{131}"]
_QUANTS = ["", "", "", "*", "+", "?", "{2}", "{1,2}", "*?", "+?"]


def _patterns() -> st.SearchStrategy[str]:
    atom = st.tuples(st.sampled_from(_ATOMS), st.sampled_from(_QUANTS)).map("".join)
    piece = st.one_of(atom, atom, atom, st.just(r"\b"), st.sampled_from(["^", "$", "(?-i)"]))

    def extend(children: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
        group = st.tuples(st.lists(children, min_size=1, max_size=3), st.sampled_from(_QUANTS))
        return st.one_of(
            st.lists(children, min_size=1, max_size=4).map("".join),
            group.map(lambda g: "(" + "|".join(g[0]) + ")" + g[1]),
        )

    return st.recursive(piece, extend, max_leaves=8)


@settings(max_examples=400, deadline=None)
@given(pattern=_patterns(), texts=st.lists(st.text(alphabet="aéÖöñłŁşŞ1٣ _-.\nAÉxiIİı", max_size=10), max_size=6))
def test_translated_patterns_match_what_python_re_matched(pattern: str, texts: list[str]) -> None:
    try:
        python = re.compile(pattern, re.IGNORECASE)
    except re.error:
        return
    try:
        matcher = compile_patterns([pattern])
    except PatternError:
        return  # refused with a located message: never a different answer
    for text in texts:
        assert bool(matcher.search(text)) == bool(python.search(text)), (pattern, translate(pattern), text)


@pytest.mark.parametrize(
    ("pattern", "translated"),
    [
        (r"\bthank", r"(?:\A|[^\pL\pN_])thank"),
        (r"\bfit\b", r"(?:\A|[^\pL\pN_])f[iIİı]t(?:\z|[^\pL\pN_])"),
        (r"\w+", r"[\pL\pN_]+"),
        (r"[\w.-]", r"[\pL\pN_\.\-]"),
        (r"\d", r"\p{Nd}"),
        ("ilgi", "[iIİı]lg[iIİı]"),  # Python's re holds the Turkish İ and ı equal to i and I; RE2 not
        ("(?-i:i)", "(?-i:i)"),
        (r"\é[\ñ]", r"é[\x{f1}]"),  # Python reads an escaped non-ASCII letter as the letter
        (r"x \bthank", "x thank"),  # the space already makes the boundary
        (r"thanks$", r"thanks(?:\n?\z)"),
        (r"(?m)thanks$", r"(?m)thanks$"),
        (r"\u00e9\N{LATIN SMALL LETTER N WITH TILDE}x{,2}(?#note)", r"\x{e9}\x{f1}x{0,2}"),
    ],
)
def test_translation(pattern: str, translated: str) -> None:
    assert translate(pattern) == translated


def test_dollar_matches_before_a_final_newline_as_in_python(default: Patterns) -> None:
    patterns = Patterns({"thanks": ("danke!$",)})
    assert patterns.matches("thanks", "Vielen Dank, danke!\n")
    assert not patterns.matches("thanks", "danke!\nund mehr")


# -- hostile text and staff patterns ------------------------------------------------------------------


def _history(body: str) -> str:
    return json.dumps(
        {
            "version": 1,
            "timezone": "UTC",
            "candidate": {"name": "Jane Doe", "email": "jane@example.com"},
            "people": [{"id": "kim", "name": "Kim Lee", "role": "interviewer", "company": "Acme"}],
            "events": thank_you_events(body),
        },
        ensure_ascii=False,
    )


def _staff_pack(tmp_path: Path) -> Path:
    pack = tmp_path / "staff.yaml"
    items = ", ".join(json.dumps(p) for p in STAFF_PATTERNS)
    pack.write_text(f"pack: staff\nextends: interview-follow-up\npatterns:\n  thanks: [{items}]\n", encoding="utf-8")
    return pack


def test_staff_patterns_exponential_for_backtracking_are_accepted(tmp_path: Path) -> None:
    assert all(pattern_problem(p) is None for p in STAFF_PATTERNS)
    done = subprocess.run(
        [FOLLOWUP, "pack", "validate", str(_staff_pack(tmp_path))], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.parametrize(
    ("body", "lacks"),
    [
        ("iVBORw0KGgo+/" * 160_000, "thanks, a word of continued interest, why you fit the job and your contact"),
        (
            "Thank you! I look forward to working with you. Phone: " + "12 345 " * 300_000,
            "lacks why you fit the job (",
        ),
        ("thank you, my experience; " + "ž" * 2_000_000 + "!", "a word of continued interest and your contact"),
        ("a" * 2_000_000, "thanks, a word of continued interest, why you fit the job and your contact"),
    ],
    ids=["base64", "digits-and-spaces", "staff-pattern-near-miss", "word-run"],
)
def test_a_2_mb_body_audits_without_hanging(tmp_path: Path, body: str, lacks: str) -> None:
    history = tmp_path / "h.json"
    history.write_text(_history(body), encoding="utf-8")
    args = [FOLLOWUP, "audit", str(history), "--as-of", "2026-11-10T12:00", "--format", "json"]
    if "ž" in body:  # the staff patterns see this text; ([ā-ž]+)+$ almost matches it
        args += ["--pack", str(_staff_pack(tmp_path))]
    done = subprocess.run(args, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    [result] = json.loads(done.stdout)["histories"]
    [content] = [f for f in result["findings"] if f["rule"] == "thank-you-email-content"]
    assert lacks in content["message"]


def test_a_lone_surrogate_in_a_body_is_a_non_word_character(default: Patterns) -> None:
    # JSON "\ud800" loads as a lone surrogate, which UTF-8 (what RE2 reads) cannot hold
    assert flags(default, "Thanks\ud800 jane@example.com \ud800interview") == {"thanks", "contact_info", "interview"}
    assert not Patterns({"thanks": (r"\bdank",)}).matches("thanks", "x\ud800")


def test_a_flag_with_many_patterns_matches_when_any_does() -> None:
    # one alternation of these would outgrow RE2's automaton; each on its own does not
    patterns = Patterns({"thanks": tuple(rf"\bw{i}[\w.-]+@\w+" for i in range(60))})
    assert patterns.matches("thanks", "x w59ą@b " + "hello world " * 20_000)
    assert not patterns.matches("thanks", "hello world " * 20_000)
