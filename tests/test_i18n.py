"""Every text the pages translate has an English entry, and every entry is still used.

The texts are found by parsing, not by pattern matching: Jinja's own parser for the templates and
Python's `ast` for `api/pages/*.py`, so that both quote styles, escaped quotes and adjacent
string literals (`_("a " "b")`) read exactly as at run time. A call `_(…)` whose first argument
is not a literal cannot be checked; it is listed where it matters (an entry that looks unused may
be reached through one).
"""

from __future__ import annotations

import ast
import json
import string
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from jinja2 import Environment, TemplateSyntaxError, nodes

from api.pages.i18n import PLURAL_FORMS, english, translator

API = Path(__file__).resolve().parents[1] / "api"
TEMPLATES = API / "templates"
PAGES = API / "pages"
LOCALE = PAGES / "locale"


@dataclass(frozen=True)
class Use:
    """One `_(…)` call: where it is, its literal text (None when not a literal) and the names of
    its keyword arguments (None when it passes `**values`, which cannot be checked)."""

    where: str
    text: str | None
    keywords: frozenset[str] | None

    def __str__(self) -> str:
        return f"{self.where}: {self.text!r}" if self.text is not None else self.where


def is_jinja_translate(callee: nodes.Node) -> bool:
    """`_` or `something._` in a template."""
    return (isinstance(callee, nodes.Name) and callee.name == "_") or (
        isinstance(callee, nodes.Getattr) and callee.attr == "_"
    )


def is_python_translate(callee: ast.expr) -> bool:
    """`_` or `something._` (e.g. `wizard._`) in Python."""
    return (isinstance(callee, ast.Name) and callee.id == "_") or (
        isinstance(callee, ast.Attribute) and callee.attr == "_"
    )


def template_uses(path: Path) -> Iterator[Use]:
    """The `_(…)` calls of one template."""
    source = path.read_text(encoding="utf-8")
    try:
        tree = Environment().parse(source, name=path.name)
    except TemplateSyntaxError as exc:
        pytest.fail(f"{path.relative_to(API.parent)}:{exc.lineno}: {exc.message}", pytrace=False)
    for call in tree.find_all(nodes.Call):
        if not is_jinja_translate(call.node):
            continue
        where = f"{path.relative_to(API.parent)}:{call.lineno}"
        first = call.args[0] if call.args else None
        text = first.value if isinstance(first, nodes.Const) else None
        keywords = None if call.dyn_kwargs else frozenset(k.key for k in call.kwargs)
        yield Use(where, text if isinstance(text, str) else None, keywords)


def python_uses(path: Path) -> Iterator[Use]:
    """The `_(…)` calls of one module of api/pages."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    for call in ast.walk(tree):
        if not (isinstance(call, ast.Call) and is_python_translate(call.func)):
            continue
        where = f"{path.relative_to(API.parent)}:{call.lineno}"
        first = call.args[0] if call.args else None
        literal = isinstance(first, ast.Constant) and isinstance(first.value, str)
        text = first.value if literal else None  # type: ignore[union-attr]
        names = [k.arg for k in call.keywords]
        keywords = None if None in names else frozenset(str(n) for n in names)
        yield Use(where, text, keywords)


def all_uses() -> list[Use]:
    """Every `_(…)` call in the templates and the page modules."""
    uses: list[Use] = []
    for path in sorted(TEMPLATES.rglob("*.html")):
        uses.extend(template_uses(path))
    for path in sorted(PAGES.rglob("*.py")):
        uses.extend(python_uses(path))
    return uses


def fields(text: str) -> set[str]:
    """The `{name}` placeholders of a text."""
    return {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}


def fail_listing(title: str, lines: list[str], note: str = "") -> None:
    """Fail with `title` and one line per problem (no traceback: the list is the message)."""
    if lines:
        pytest.fail(f"{title} ({len(lines)}):\n  " + "\n  ".join(lines) + note, pytrace=False)


def test_the_scan_finds_the_texts() -> None:
    """A guard on the scan itself: the base template's texts are found."""
    texts = {use.text for use in all_uses()}
    assert "Langsung ke isi" in texts  # {{ _("Langsung ke isi") }} in base.html
    assert "Menu utama" in texts  # _('Menu utama'): single quotes


def test_every_text_has_an_english_entry() -> None:
    catalogue = english()
    missing: dict[str, list[str]] = {}
    for use in all_uses():
        if use.text is not None and use.text not in catalogue:
            missing.setdefault(use.text, []).append(use.where)
    lines = [f"{json.dumps(text, ensure_ascii=False)}  ({', '.join(where)})"
             for text, where in sorted(missing.items())]  # fmt: skip
    fail_listing("texts without an English entry in api/pages/locale/<area>.en.json", lines)


def test_no_text_is_built_at_run_time() -> None:
    """`_(f"…")` or `_("…" + x)` can never match the catalogue: fill placeholders by keyword."""
    built = []
    for path in sorted(PAGES.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for call in ast.walk(tree):
            if (
                isinstance(call, ast.Call)
                and is_python_translate(call.func)
                and call.args
                and isinstance(call.args[0], ast.JoinedStr | ast.BinOp)
            ):
                built.append(f"{path.relative_to(API.parent)}:{call.lineno}")
    fail_listing("texts built at run time inside _(…)", built)


def test_no_catalogue_entry_is_unused() -> None:
    used = {use.text for use in all_uses() if use.text is not None}
    stale = sorted(set(english()) - used)
    dynamic = [use.where for use in all_uses() if use.text is None]
    hint = (
        "\n(calls whose text is not a literal, which cannot be checked: " + ", ".join(dynamic) + ")"
        if dynamic
        else ""
    )
    fail_listing(
        "English entries no _(…) literal uses (remove them, or fix the text they translate)",
        [json.dumps(text, ensure_ascii=False) for text in stale],
        hint,
    )


def forms(translated: str | dict[str, str]) -> list[str]:
    """The English forms of an entry: one text, or one per plural category."""
    return [translated] if isinstance(translated, str) else list(translated.values())


def test_placeholders_match_between_languages() -> None:
    mismatched = [
        f"{json.dumps(indonesian, ensure_ascii=False)} {sorted(fields(indonesian))} → "
        f"{json.dumps(form, ensure_ascii=False)} {sorted(fields(form))}"
        for indonesian, translated in sorted(english().items())
        for form in forms(translated)
        if fields(indonesian) != fields(form)
    ]
    fail_listing("placeholders that differ between Indonesian and English", mismatched)


def test_placeholders_are_filled_where_used() -> None:
    """A call that fills placeholders fills exactly the text's: a missing one would show as
    "{n}", a misspelt one too. (A call with no keywords passes the text on unfilled, e.g. in a
    data-* attribute for a script to fill; that is allowed.)"""
    # `form=` picks a plural form and fills nothing (for a script that fills it).
    wrong = [
        f"{use}: placeholders {sorted(fields(use.text))}, keywords {sorted(use.keywords)}"
        for use in all_uses()
        if use.text is not None
        and (filled := use.keywords - {"form"} if use.keywords else None)
        and fields(use.text) != filled
    ]
    fail_listing("_(…) calls whose keywords do not fill the text's placeholders", wrong)


def test_catalogues_are_clean() -> None:
    """Each area's file: a JSON object of non-empty strings, no key twice, and no text that two
    areas translate differently (the merge would keep one silently)."""
    problems: list[str] = []
    seen: dict[str, tuple[str, str]] = {}
    for path in sorted(LOCALE.glob("*.en.json")):

        def pairs(items: list[tuple[str, object]], path: Path = path) -> dict[str, object]:
            keys = [key for key, _ in items]
            problems.extend(
                f"{path.name}: {k!r} twice" for k in sorted(set(keys)) if keys.count(k) > 1
            )
            return dict(items)

        entries = json.loads(path.read_text(encoding="utf-8"), object_pairs_hook=pairs)
        for indonesian, translated in entries.items():
            if isinstance(translated, dict):
                problems.extend(plural_problems(path.name, indonesian, translated))
            elif not isinstance(translated, str) or not translated.strip():
                problems.append(f"{path.name}: {indonesian!r} has no English text")
                continue
            earlier = seen.setdefault(indonesian, (path.name, translated))
            if earlier[1] != translated:
                problems.append(
                    f"{indonesian!r}: {earlier[0]} says {earlier[1]!r}, {path.name} says "
                    f"{translated!r}"
                )
    fail_listing("problems in api/pages/locale/*.en.json", problems)


def plural_problems(area: str, indonesian: str, entry: dict[str, object]) -> list[str]:
    """What is wrong with a plural entry: English needs "one" and "other", each a text, and
    the count is the text's {n} (the form is chosen by it)."""
    problems = []
    if set(entry) != {"one", "other"}:
        problems.append(f"{area}: {indonesian!r} has plural forms {sorted(entry)}, not one/other")
    if not all(isinstance(form, str) and form.strip() for form in entry.values()):
        problems.append(f"{area}: {indonesian!r} has an empty plural form")
    if "n" not in fields(indonesian):
        problems.append(f"{area}: {indonesian!r} has plural forms but no {{n}} to choose by")
    return problems


def test_counts_are_told_in_the_right_plural() -> None:
    english_, indonesian = translator("en"), translator("id")
    assert english_("{n} tempat", n=1) == "1 place"
    assert english_("{n} tempat", n=2) == "2 places"
    assert english_("{n} tempat", n=0) == "0 places"
    assert english_("Terdaftar untuk pembukaan ini: {n} orang, termasuk Anda.", n=1) == (
        "Registered for this release: 1 person, you included."
    )
    assert english_("Terdaftar untuk pembukaan ini: {n} orang, termasuk Anda.", n=7) == (
        "Registered for this release: 7 people, you included."
    )
    assert english_("sekitar {n} menit", n=1) == "about 1 minute"
    # Indonesian has no plural forms: unchanged.
    assert indonesian("{n} tempat", n=1) == "1 tempat"
    assert indonesian("{n} tempat", n=2) == "2 tempat"
    # Unfilled (a data-* attribute for a script to fill): the general form.
    assert english_("{n} tempat") == "{n} places"
    assert set(PLURAL_FORMS) >= {"one", "other"}


def test_the_counts_shown_have_plural_entries() -> None:
    """Every English text that shows a count of things (places, people, minutes, hours, years)
    is a plural entry, so that no page says "1 places"."""
    counted = ("place", "people", "person", "minute", "hour", "year", "second")
    singular_only = [
        indonesian
        for indonesian, translated in english().items()
        if isinstance(translated, str)
        and "{n}" in translated
        and any(f"{{n}} {word}" in translated for word in counted)
    ]
    fail_listing("counts without plural forms in api/pages/locale/*.en.json", singular_only)


def test_a_count_a_script_fills_has_its_one_form() -> None:
    """The waiting pages count down in JavaScript: they carry the "one" form too, unfilled."""
    text = "Sedang padat. Kami mencoba lagi dalam {n} detik."
    assert translator("en")(text, form="one") == "It is busy. We try again in {n} second."
    assert translator("en")(text) == "It is busy. We try again in {n} seconds."
    assert translator("id")(text, form="one") == text
