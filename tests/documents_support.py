"""Real documents for upload tests (made with Pillow and pypdf), and a hand-made PDF writer for
the hostile ones that no library would write."""

from __future__ import annotations

import io
from functools import cache

from fpdf import FPDF
from PIL import Image
from pypdf import PdfWriter


@cache
def png(width: int = 64, height: int = 48) -> bytes:
    """A real PNG (a grey gradient)."""
    image = Image.linear_gradient("L").resize((width, height))
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


@cache
def jpeg(width: int = 64, height: int = 48) -> bytes:
    """A real JPEG (a grey gradient)."""
    image = Image.linear_gradient("L").resize((width, height)).convert("RGB")
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=80)
    return out.getvalue()


@cache
def pdf() -> bytes:
    """A real one-page PDF."""
    writer = PdfWriter()
    writer.add_blank_page(595, 842)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


@cache
def fpdf_document() -> bytes:
    """A real PDF as fpdf2 writes it (it opens at the first page: an /OpenAction destination)."""
    document = FPDF()
    document.add_page()
    document.set_font("helvetica", size=12)
    document.cell(text="Akta kelahiran")
    return bytes(document.output())


def raw_pdf(catalog: bytes, *more: bytes) -> bytes:
    """A PDF written by hand, with a correct cross-reference table: object 1 is the catalog
    (`catalog` is added inside its dictionary), 2 the page tree, 3 the page, 4… `more`."""
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R " + catalog + b" >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] >>",
        *more,
    ]
    body = bytearray(b"%PDF-1.7\n")
    offsets = []
    for number, content in enumerate(objects, start=1):
        offsets.append(len(body))
        body += b"%d 0 obj\n" % number + content + b"\nendobj\n"
    xref = len(body)
    body += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    for offset in offsets:
        body += b"%010d 00000 n \n" % offset
    body += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return bytes(body)
