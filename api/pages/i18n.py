"""Bahasa Indonesia first, English on request.

Templates and handlers write their text in Indonesian inside `_("…")`; the English catalogue maps
each such text to its translation. The catalogue is split by area (`locale/<area>.en.json`) so
that each part of the site keeps its own strings; a test checks that none is missing.

Indonesian does not change a noun with its count ("1 tempat", "2 tempat"); English does. A text
that shows a count keeps it in `{n}`, and its English entry then holds one text per plural
category of CLDR (`{"one": "{n} place", "other": "{n} places"}`): `_` picks the form by `n`, as
gettext's ngettext would, with Babel's plural rules.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from datetime import date, datetime
from functools import cache
from importlib import resources
from typing import Any
from zoneinfo import ZoneInfo

from aiohttp import web
from babel import Locale
from babel.dates import format_date, format_datetime

LANG_COOKIE = "antri_lang"
DEFAULT_LANGUAGE = "id"
LANGUAGES = ("id", "en")

Translate = Callable[..., str]
#: an entry of a catalogue: one text, or one per plural category ("one", "other")
Entry = str | Mapping[str, str]
#: the plural categories CLDR knows (English uses "one" and "other")
PLURAL_FORMS = ("zero", "one", "two", "few", "many", "other")


@cache
def english() -> Mapping[str, Entry]:
    """Indonesian text → English, merged from every area's catalogue."""
    merged: dict[str, Entry] = {}
    for entry in sorted(resources.files("api.pages").joinpath("locale").iterdir(), key=str):
        if entry.name.endswith(".en.json"):
            merged.update(json.loads(entry.read_text(encoding="utf-8")))
    return merged


def language(request: web.Request) -> str:
    """The visitor's language: the one they chose, else Bahasa Indonesia."""
    chosen = request.cookies.get(LANG_COOKIE)
    return chosen if chosen in LANGUAGES else DEFAULT_LANGUAGE


def translator(lang: str) -> Translate:
    """`_(text, **values)`: `text` in `lang`, with `{name}` fields filled from `values`.

    A text missing from the catalogue shows in Indonesian rather than failing the page. A plural
    entry gives the form for the count `n` (the general "other" form when `n` is not given).
    `_(text, form="one")` gives that plural form unfilled: for a script that fills `{n}` itself
    (a countdown) and must say "1 second", not "1 seconds".
    """
    catalogue: Mapping[str, Entry] = english() if lang == "en" else {}
    plural_form = Locale.parse(lang).plural_form

    def translate(text: str, form: str | None = None, **values: Any) -> str:
        entry = catalogue.get(text, text)
        if isinstance(entry, str):
            translated = entry
        else:
            count = values.get("n")
            if form is None:
                form = plural_form(count) if isinstance(count, int | float) else "other"
            translated = entry.get(form, entry["other"])
        return translated.format(**values) if values else translated

    return translate


def for_visitor(request: web.Request) -> Translate:
    """`_` in the visitor's language."""
    return translator(language(request))


def long_date(day: date, lang: str) -> str:
    """A date in full: "Selasa, 1 Desember 2026" / "Tuesday, December 1, 2026"."""
    # Babel's "full" Indonesian pattern pads the day ("01 Desember"), which Indonesians don't.
    return format_date(day, "EEEE, d MMMM y" if lang == "id" else "full", locale=lang)


def short_date(day: date, lang: str) -> str:
    """A date in short: "Sab, 28 Nov" / "Sat, Nov 28"."""
    return format_date(day, "EEE, d MMM" if lang == "id" else "EEE, MMM d", locale=lang)


def date_time(moment: datetime, lang: str, zone: str) -> str:
    """A moment in the IANA zone `zone`, e.g. "28 Nov 2026 14.00"."""
    return format_datetime(moment, "d MMM yyyy HH:mm", tzinfo=ZoneInfo(zone), locale=lang)


def rupiah(amount: int) -> str:
    """ "Rp 2.950.000" (the same in both languages, as on the bank's side)."""
    return f"Rp {amount:,}".replace(",", ".")
