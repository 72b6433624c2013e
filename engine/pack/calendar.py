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
from collections.abc import Callable, Mapping
from datetime import date

from ..diagnostics import suggest
from .model import WEEKDAYS, CalendarSpec

Report = Callable[[str, str], None]  # (JSON pointer, message)


@functools.lru_cache(maxsize=1)
def supported() -> Mapping[str, tuple[str, ...]]:
    """Country code -> its subdivision codes, as the installed ``holidays`` library knows them."""
    import holidays  # only a pack that names a calendar pays for the import

    return {code: tuple(subs) for code, subs in holidays.list_supported_countries().items()}


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
            upper = country.upper()
            tip = f"; did you mean {upper!r}?" if upper in known else suggest(country, known)
            report(
                "/calendar/country",
                f"unknown country code {country!r} for public holidays{tip} (ISO 3166, e.g. DE, FR, US)",
            )
            country = None
        elif subdivision is not None and str(subdivision) not in known[country]:
            subs = known[country]
            listed = f" ({country} has: {', '.join(subs)})" if subs else f" ({country} has none)"
            report(
                "/calendar/subdivision",
                f"unknown subdivision {subdivision!r} of {country}{suggest(str(subdivision), subs, otherwise=listed)}",
            )
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
