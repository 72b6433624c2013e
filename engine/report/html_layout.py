"""Where the timeline's badges, event labels, reply glyphs, next steps and tick labels go, so that
none of them covers another at any screen width.

Everything is placed in viewBox units from estimated text widths (the page loads no font, so the
browser's is unknown: the estimate is generous). Marks crowd when many events fall on one day or
when the page is read long after the events; then each item takes the first row where it fits,
badges may slide a little sideways (a stem still joins them to their event), and an event label or
reply glyph that finds no room is left out (the event's tooltip and the event log still name it).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

# Average advance of a character, in em, for the fonts system-ui resolves to; wide on purpose.
CHAR_EM = 0.62

BADGE_W, BADGE_PITCH, BADGE_ROW_H = 16, 19, 20
BADGE_ROWS, BADGE_SHIFT = 3, 60  # rows tried at the event itself; how far a badge may slide
ID_SIZE, LABEL_ROW_H, LABEL_ROWS = 11, 14, 2
GLYPH_W = 14
STEP_SIZE = 12
# The largest size a tick label and the time zone get (on a phone, see html_assets).
TICK_SIZE, TZ_SIZE = 15, 13
GAP = 4


def text_width(text: str, size: float) -> float:
    return len(text) * size * CHAR_EM


class Rows:
    """Rows of occupied horizontal intervals; an item goes in the lowest row where it fits."""

    def __init__(self, gap: float = GAP) -> None:
        self.gap = gap
        self.rows: list[list[tuple[float, float]]] = []

    def _free(self, row: int, lo: float, hi: float) -> bool:
        if row >= len(self.rows):
            return True
        return all(hi + self.gap <= a or b + self.gap <= lo for a, b in self.rows[row])

    def _take(self, row: int, lo: float, hi: float) -> None:
        while len(self.rows) <= row:
            self.rows.append([])
        self.rows[row].append((lo, hi))

    def place(self, x: float, span: tuple[float, float], rows: int, *, shift: float = 0.0,
              grow: bool = False) -> tuple[int, float] | None:
        """The row and position for an item spanning ``x - left`` to ``x + right`` (``span``): at ``x`` in
        the first of ``rows`` rows with room, else moved at most ``shift`` in one of them, else (when
        ``grow``) at ``x`` in a further row; None when it may not grow."""
        left, right = span
        for row in range(rows):
            if self._free(row, x - left, x + right):
                self._take(row, x - left, x + right)
                return row, x
        best: tuple[int, float] | None = None
        for row in range(min(rows, len(self.rows))):
            for a, b in self.rows[row]:
                for at in (b + self.gap + left, a - self.gap - right):
                    fits = abs(at - x) <= shift and self._free(row, at - left, at + right)
                    if fits and (best is None or abs(at - x) < abs(best[1] - x)):
                        best = (row, at)
        if best is None and grow:
            row = rows
            while not self._free(row, x - left, x + right):
                row += 1
            best = (row, x)
        if best is not None:
            self._take(best[0], best[1] - left, best[1] + right)
        return best

    def __len__(self) -> int:
        return len(self.rows)


@dataclass(frozen=True)
class Mark:
    """An event on its lane, as the layout sees it."""

    key: str
    x: float
    badges: int
    label: str
    reply: bool


@dataclass(frozen=True)
class LanePlan:
    """One lane: its height, the marks' centre line (both from the lane's top), where each event's
    badges go (centre of the group, row above the mark), which labels show in which row below the
    mark, and which replies show their glyph."""

    height: float
    cy: float
    badges: Mapping[str, tuple[float, int]]
    labels: Mapping[str, int]
    glyphs: frozenset[str]

    def badge_y(self, row: int) -> float:
        return self.cy - 30 - row * BADGE_ROW_H

    def label_y(self, row: int) -> float:
        return self.cy + 22 + row * LABEL_ROW_H


def plan_lane(marks: Sequence[Mark], min_height: float) -> LanePlan:
    badge_rows, label_rows, glyph_rows = Rows(), Rows(), Rows()
    badges: dict[str, tuple[float, int]] = {}
    labels: dict[str, int] = {}
    glyphs: set[str] = set()
    for m in sorted(marks, key=lambda m: m.x):
        if m.badges:
            half = ((m.badges - 1) * BADGE_PITCH + BADGE_W) / 2
            spot = badge_rows.place(m.x, (half, half), BADGE_ROWS, shift=BADGE_SHIFT, grow=True)
            assert spot is not None  # a growing placement always finds a row
            badges[m.key] = (spot[1], spot[0])
        if m.reply and glyph_rows.place(m.x + 5, (0, GLYPH_W), 1) is not None:
            glyphs.add(m.key)
        half = text_width(m.label, ID_SIZE) / 2
        spot = label_rows.place(m.x, (half, half), LABEL_ROWS)
        if spot is not None:
            labels[m.key] = spot[0]
    # The top badge row stays inside the lane: its top edge is cy - 38 - 20 (rows - 1).
    cy = 21 + BADGE_ROW_H * len(badge_rows) if len(badge_rows) else 32
    bottom = cy + 22 + LABEL_ROW_H * (len(label_rows) - 1) + 6 if len(label_rows) else cy + 14
    return LanePlan(max(min_height, bottom), cy, badges, labels, frozenset(glyphs))


def step_rows(xs: Sequence[tuple[float, int]]) -> list[int]:
    """The row of each next step (its diamond, then its number), given in due order as (x, number)."""
    rows = Rows()
    out = []
    for x, number in xs:
        spot = rows.place(x, (8, 11 + text_width(str(number), STEP_SIZE)), 1, grow=True)
        assert spot is not None
        out.append(spot[0])
    return out


def tick_labels(ticks: Sequence[tuple[float, str, str]], tz_name: str) -> list[bool]:
    """Which tick labels (x, text, text-anchor) to show: a label that would touch the one before it,
    or the time zone's name at the axis' start, is left out (its grid line stays)."""
    kept: list[tuple[float, float]] = [(8, 8 + text_width(tz_name, TZ_SIZE))]
    out = []
    for x, text, anchor in ticks:
        width = text_width(text, TICK_SIZE)
        lo = x - width if anchor == "end" else (x - width / 2 if anchor == "middle" else x)
        show = lo >= kept[-1][1] + 2 * GAP
        if show:
            kept.append((lo, lo + width))
        out.append(show)
    return out
