"""What is inside an upload: an image Pillow can read, of a sane pixel size; a PDF pypdf can
parse, without active content; and, in an image, no markup a browser could run.

The parsers made for the formats, not byte scans: a PDF name written with `#xx` escapes
(`/J#61vaScript`) or hidden in a compressed object stream is the same name to pypdf, and an SVG
behind PNG magic is no PNG to Pillow. The whole file is inspected, never only its head.
"""

from __future__ import annotations

import re
import warnings
from pathlib import Path
from typing import Any

from PIL import Image
from pypdf import PdfReader
from pypdf.generic import ArrayObject, DictionaryObject, IndirectObject, NameObject

#: A scan at 600 dpi of an A4 page is 4961 x 7016; nothing we accept needs more.
MAX_IMAGE_SIDE = 10_000
MAX_IMAGE_PIXELS = 40_000_000

#: A scanned document has tens of objects; walking each costs ~0.2 ms, so a cap keeps a hostile
#: file of tiny objects from holding a thread for seconds.
MAX_PDF_OBJECTS = 5_000

#: Names that make a PDF do something when opened or clicked: scripts, actions run on open or
#: on events, programs launched, files carried inside, XML forms (XFA, scriptable).
ACTIVE_PDF_NAMES = frozenset(
    {
        "/JavaScript",
        "/JS",
        "/OpenAction",
        "/AA",
        "/Launch",
        "/EmbeddedFile",
        "/EmbeddedFiles",
        "/XFA",
        "/RichMedia",
        "/SubmitForm",
        "/ImportData",
    }
)

#: Markup a browser would run if it ever took the file for HTML or SVG (lower-cased bytes).
#: Each pattern is long enough that the random bytes of a compressed photo do not match it by
#: chance (about one 2 MiB photo in ten thousand, for the shortest).
#: Separate patterns, each opening with a literal: the regex engine then skips ahead to it, ~20
#: times faster on a photo than one alternation.
MARKUP = (
    re.compile(rb"<(?:script|html|body|iframe|object|embed|svg|\?php|\?xml)[\s>/]"),
    re.compile(rb"on(?:load|error|click|focus|mouse[a-z]{2,5}|begin|end|animation[a-z]{3,9})\s*="),
    re.compile(rb"javascript:"),
)
#: Bytes kept from one chunk to the next, so that markup split across chunks is found.
MARKUP_OVERLAP = 64

_FORMATS = {"image/jpeg": "JPEG", "image/png": "PNG"}


class Inadmissible(ValueError):
    """The file is not what it claims to be, or carries what we refuse; the reason, in English."""


class MarkupScan:
    """Looks for MARKUP in a stream of chunks, across chunk boundaries, to its very end."""

    def __init__(self) -> None:
        self._tail = b""

    def feed(self, chunk: bytes) -> bool:
        """Scan one more chunk; True when markup was found."""
        window = self._tail + chunk.lower()
        self._tail = window[-MARKUP_OVERLAP:]
        return any(pattern.search(window) is not None for pattern in MARKUP)


def check_image(path: Path, media_type: str) -> None:
    """Refuse (Inadmissible) unless `path` is an image of `media_type` that Pillow reads, of at
    most MAX_IMAGE_SIDE a side and MAX_IMAGE_PIXELS. Only the header is decoded for the size
    (no pixels are), so a decompression bomb is refused before it costs memory."""
    try:
        with warnings.catch_warnings():
            # Pillow's own bomb check warns below its hard limit; ours is stricter anyway.
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path, formats=[_FORMATS[media_type]]) as image:
                width, height = image.size
                if max(width, height) > MAX_IMAGE_SIDE or width * height > MAX_IMAGE_PIXELS:
                    raise Inadmissible(f"The image is too large ({width} x {height} pixels).")
                # Walks the file's structure (PNG: every chunk and its checksum) undecoded.
                image.verify()
    except Inadmissible:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise Inadmissible("The image is too large (a decompression bomb).") from None
    except Exception:
        # UnidentifiedImageError, OSError, SyntaxError… and whatever else a hostile file makes
        # a parser raise: a file Pillow cannot read through is not an image we take.
        raise Inadmissible("The file is not a readable image.") from None


def check_pdf(path: Path) -> None:
    """Refuse (Inadmissible) unless `path` is a PDF pypdf parses, unencrypted, in which no
    object (whether reached from the document or merely present, in an object stream or not)
    uses one of ACTIVE_PDF_NAMES as a key or a value."""
    try:
        reader = PdfReader(path, strict=False)
        if reader.is_encrypted:
            raise Inadmissible("An encrypted PDF cannot be checked.")
        listed = sum(len(objects) for objects in reader.xref.values()) + len(reader.xref_objStm)
        if listed > MAX_PDF_OBJECTS:
            raise Inadmissible(f"The PDF has too many objects ({listed}).")
        if len(reader.pages) < 1:
            raise Inadmissible("The PDF has no pages.")
        found = _active_name(reader)
    except Inadmissible:
        raise
    except Exception:
        # pypdf raises more than its own errors (PyPdfError) on malformed input: KeyError,
        # TypeError, RecursionError… A file it cannot read through is not a PDF we take.
        raise Inadmissible("The file is not a readable PDF.") from None
    if found is not None:
        raise Inadmissible(f"The PDF carries active content ({found}).")


def _active_name(reader: PdfReader) -> str | None:
    """The first active name in any object of the file, or None."""
    seen: set[tuple[int, int]] = set()
    pending: list[Any] = [reader.trailer]
    # Every object the cross-reference lists, reached or not: a viewer that repairs a file may
    # find what the document tree does not point to.
    for generation, objects in reader.xref.items():
        pending.extend(IndirectObject(number, generation, reader) for number in objects)
    pending.extend(IndirectObject(number, 0, reader) for number in reader.xref_objStm)
    while pending:
        item = pending.pop()
        if isinstance(item, IndirectObject):
            key = (item.idnum, item.generation)
            if key in seen:
                continue
            seen.add(key)
            item = item.get_object()
        if isinstance(item, NameObject) and item in ACTIVE_PDF_NAMES:
            return str(item)
        if isinstance(item, DictionaryObject):  # streams too: their dictionary, not their data
            for name, value in item.items():
                if name in ACTIVE_PDF_NAMES and not _opens_at_a_page(name, value):
                    return str(name)
                pending.append(value)
        elif isinstance(item, list):
            pending.extend(item)
    return None


def _opens_at_a_page(name: str, value: Any) -> bool:
    """An /OpenAction that is a destination (`[page /FitH null]`: open at a page), not an
    action: harmless, and written by common PDF makers (fpdf2, scanners)."""
    return name == "/OpenAction" and isinstance(value.get_object(), ArrayObject)
