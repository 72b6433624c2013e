"""A pack's ``calendar:``: which days are business days, checked with located messages.

```yaml
calendar:
  country: DE            # public holidays of Germany (the `holidays` library)...
  subdivision: BE        # ...as kept in Berlin
  extra_holidays: [2026-12-24, 2026-12-31]
  weekend: [sat, sun]    # the default
```
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Collection, Mapping
from datetime import date

from ..diagnostics import suggest
from .model import WEEKDAYS, CalendarSpec

Report = Callable[[str, str], None]  # (JSON pointer, message)


@functools.lru_cache(maxsize=1)
def supported() -> Mapping[str, tuple[str, ...]]:
    """Country code -> its subdivision codes, as the installed ``holidays`` library knows them."""
    import holidays  # only a pack that names a calendar pays for the import

    return {code: tuple(subs) for code, subs in holidays.list_supported_countries().items()}


@functools.lru_cache(maxsize=1)
def _country_words() -> Mapping[str, str]:
    """Folded country names and three-letter codes -> the code ``holidays`` wants (``germany``, ``deu``
    -> ``DE``), for a did-you-mean; empty if this version of the library keeps its registry elsewhere."""
    try:
        from holidays.registry import COUNTRIES
    except ImportError:
        return {}
    out: dict[str, str] = {}
    for module, names in COUNTRIES.items():
        if len(names) >= 3 and all(isinstance(n, str) for n in names[:3]):
            class_name, code, alpha3 = names[:3]
            for word in (module.replace("_", " "), class_name, alpha3):
                out[word.casefold()] = code
    return out


def _subdivision_words(country: str) -> Mapping[str, str]:
    """Folded subdivision names -> codes (``berlin`` -> ``BE``), as the library names them."""
    import holidays

    try:
        aliases = getattr(holidays.country_holidays(country), "subdivisions_aliases", {})
    except (NotImplementedError, KeyError, ValueError):
        return {}
    return {str(name).casefold(): str(code) for name, code in dict(aliases).items()}


def _did_you_mean(word: str, codes: Collection[str], names: Mapping[str, str], otherwise: str) -> str:
    """A code for a code in the wrong case, a name or a three-letter code; else the nearest code."""
    if word.upper() in codes:
        return f"; did you mean {word.upper()!r}?"
    code = names.get(word.casefold())
    if code is not None:
        return f"; did you mean {code!r}?"
    return suggest(word, codes, otherwise=otherwise)


def read_calendar(raw: object, origin: str, report: Report) -> CalendarSpec | None:
    """The calendar of a schema-valid ``calendar:`` mapping (None when absent); problems reported."""
    if not isinstance(raw, Mapping):
        return None
    country = raw.get("country")
    subdivision = raw.get("subdivision")
    if country is not None:
        country = str(country)
        known = supported()
        if country not in known:
            tip = _did_you_mean(country, known, _country_words(), " (ISO 3166, e.g. DE, FR, US)")
            report("/calendar/country", f"unknown country code {country!r} for public holidays{tip}")
            country = None
        elif subdivision is not None and str(subdivision) not in known[country]:
            subs = known[country]
            listed = f" ({country} has: {', '.join(subs)})" if subs else f" ({country} has none)"
            tip = _did_you_mean(str(subdivision), subs, _subdivision_words(country), listed)
            report("/calendar/subdivision", f"unknown subdivision {subdivision!r} of {country}{tip}")
            subdivision = None
    elif subdivision is not None:
        report("/calendar/subdivision", "a subdivision needs the `country` it belongs to")
        subdivision = None
    extra: list[str] = []
    for i, value in enumerate(raw.get("extra_holidays") or ()):
        try:
            extra.append(date.fromisoformat(str(value)).isoformat())
        except ValueError:
            report(f"/calendar/extra_holidays/{i}", f"{value!r} is not a date; write it as 2026-12-24")
    weekend: list[str] = []
    days = ", ".join(WEEKDAYS)
    for i, day in enumerate(raw.get("weekend", ("sat", "sun"))):
        if str(day) not in WEEKDAYS:
            report(
                f"/calendar/weekend/{i}",
                f"{day!r} is not a weekday{suggest(str(day), WEEKDAYS, otherwise=' (one of ' + days + ')')}",
            )
        else:
            weekend.append(str(day))
    if len(set(weekend)) == len(WEEKDAYS):
        report("/calendar/weekend", "every day of the week is a weekend: there would be no business days")
        weekend = ["sat", "sun"]
    return CalendarSpec(
        None if country is None else str(country),
        None if subdivision is None else str(subdivision),
        tuple(extra),
        tuple(dict.fromkeys(weekend)),
        origin,
    )
