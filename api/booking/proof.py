"""The proof of registration (bukti pendaftaran): its QR code and its PDF."""

from __future__ import annotations

import io
import unicodedata
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, timezone

import segno
from fpdf import FPDF
from fpdf.enums import XPos, YPos

_HARI = ("Senin", "Selasa", "Rabu", "Kamis", "Jumat", "Sabtu", "Minggu")
_BULAN = (
    "Januari",
    "Februari",
    "Maret",
    "April",
    "Mei",
    "Juni",
    "Juli",
    "Agustus",
    "September",
    "Oktober",
    "November",
    "Desember",
)
_ZONE_HOURS = {"WIB": 7, "WITA": 8, "WIT": 9}

# The notice under the table: (Bahasa Indonesia, English).
_NOTICE = (
    (
        "Bawa dokumen asli: KTP, KK, akta kelahiran / buku nikah / ijazah, "
        "dan paspor lama untuk penggantian paspor.",
        "Bring the original documents: KTP, KK, birth certificate / marriage book / diploma, "
        "and the old passport for a replacement.",
    ),
    (
        "Datang 30 menit sebelum sesi dimulai dan tunjukkan kode QR ini untuk mengambil "
        "nomor antrean.",
        "Arrive 30 minutes before your session starts and show this QR code to get a queue number.",
    ),
    (
        "Jadwal kedatangan dapat diubah satu kali, paling lambat H-1 (sehari sebelum "
        "tanggal kedatangan).",
        "You may reschedule once, up to the day before your appointment (H-1).",
    ),
)

# Typography the core fonts cannot encode, mapped to its closest latin-1 form.
_LATIN1_FALLBACKS = str.maketrans(
    {
        "\u2013": "-",
        "\u2014": "-",
        "\u2212": "-",
        "\u2018": "'",
        "\u2019": "'",
        "\u201c": '"',
        "\u201d": '"',
        "\u2026": "...",
        "\u2022": "*",
    }
)

_MARGIN = 16.0
_PAGE_WIDTH = 210.0
_QR_SIZE = 48.0
_LABEL_WIDTH = 58.0
_GREY = (110, 110, 110)
_BLACK = (0, 0, 0)


@dataclass(frozen=True)
class Proof:
    """Everything printed on a paid booking's proof of registration."""

    booking_code: str
    qr_text: str
    office_name: str
    office_city: str
    zone_label: str  # "WIB" / "WITA" / "WIT"
    date: date
    session_start: time
    session_end: time
    lane: str
    application_kind: str
    passport_type: str
    validity_years: int
    applicant_name: str
    nik_masked: str
    amount: int
    paid_at: datetime  # aware; a naive value is taken to be UTC
    status: str


def rupiah(amount: int) -> str:
    """An amount in rupiah the Indonesian way: "Rp 1.650.000"."""
    sign = "-" if amount < 0 else ""
    return f"{sign}Rp {abs(amount):,}".replace(",", ".")


def tanggal(day: date) -> str:
    """A date in Bahasa Indonesia: "Senin, 7 Desember 2026"."""
    return f"{_HARI[day.weekday()]}, {day.day} {_BULAN[day.month - 1]} {day.year}"


def sesi(start: time, end: time, zone_label: str) -> str:
    """A session in local office time, en dash between the times: "08:00-10:00 WIB"."""
    return f"{start:%H:%M}\u2013{end:%H:%M} {zone_label}"


def qr_svg(text: str, *, scale: int = 5) -> str:
    """The QR code as an inline <svg> element (no XML declaration), white quiet zone included."""
    # A light colour keeps the code scannable when the page itself is dark.
    return _qr(text).svg_inline(scale=scale, dark="#000", light="#fff", svgclass="qr")


def qr_png(text: str, scale: int = 6) -> bytes:
    """The QR code as PNG bytes."""
    out = io.BytesIO()
    _qr(text).save(out, kind="png", scale=scale)
    return out.getvalue()


def proof_pdf(proof: Proof) -> bytes:
    """The A4 proof of registration as PDF bytes."""
    pdf = FPDF(orientation="portrait", unit="mm", format="A4")
    pdf.set_margins(_MARGIN, _MARGIN, _MARGIN)
    pdf.set_auto_page_break(auto=True, margin=_MARGIN)
    pdf.set_title(_latin1(f"Bukti Pendaftaran Paspor {proof.booking_code}"))
    pdf.set_author("Antri")
    # A fixed creation date makes the bytes reproducible for one booking.
    pdf.set_creation_date(_aware(proof.paid_at))
    pdf.add_page()
    width = _PAGE_WIDTH - 2 * _MARGIN

    pdf.set_font("Helvetica", "B", 18)
    pdf.cell(width, 9, "BUKTI PENDAFTARAN PASPOR", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    _english(pdf, width, "Proof of passport registration", size=9)
    pdf.set_draw_color(*_GREY)
    pdf.line(_MARGIN, pdf.get_y() + 2, _PAGE_WIDTH - _MARGIN, pdf.get_y() + 2)

    top = pdf.get_y() + 6
    pdf.image(
        io.BytesIO(qr_png(proof.qr_text, scale=8)),
        x=_PAGE_WIDTH - _MARGIN - _QR_SIZE,
        y=top,
        w=_QR_SIZE,
        h=_QR_SIZE,
        alt_text="QR",
    )
    left_width = width - _QR_SIZE - 6
    pdf.set_xy(_MARGIN, top + 4)
    pdf.set_font("Helvetica", "B", 10)
    pdf.cell(left_width, 5, "Kode Pemesanan", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    _english(pdf, left_width, "Booking code")
    pdf.set_font("Helvetica", "B", 28)
    pdf.cell(left_width, 14, _latin1(proof.booking_code), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_font("Helvetica", "", 10)
    pdf.multi_cell(
        left_width,
        5,
        "Tunjukkan kode QR ini di kantor imigrasi.",
        new_x=XPos.LMARGIN,
        new_y=YPos.NEXT,
    )
    _english(pdf, left_width, "Show this QR code at the immigration office.")
    pdf.set_y(max(pdf.get_y(), top + _QR_SIZE) + 6)

    for label, english, value in _rows(proof):
        _row(pdf, width, label, english, value)

    pdf.ln(6)
    pdf.set_font("Helvetica", "B", 11)
    pdf.cell(width, 6, "PERHATIAN", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    _english(pdf, width, "Please note", size=8)
    pdf.ln(1)
    for number, (indonesian, english) in enumerate(_NOTICE, start=1):
        pdf.set_font("Helvetica", "", 9.5)
        pdf.multi_cell(width, 4.8, f"{number}. {indonesian}", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        pdf.set_x(_MARGIN + 4)
        _english(pdf, width - 4, english, size=7.5)
        pdf.ln(1.5)

    pdf.ln(4)
    pdf.set_font("Helvetica", "", 7)
    pdf.set_text_color(*_GREY)
    # Printed so staff can type the code in when a phone screen or printout will not scan.
    pdf.multi_cell(
        width,
        3.5,
        _latin1(f"Isi kode QR / QR content: {proof.qr_text}"),
        new_x=XPos.LMARGIN,
        new_y=YPos.NEXT,
    )
    pdf.set_text_color(*_BLACK)
    return bytes(pdf.output())


def _qr(text: str) -> segno.QRCode:
    # Level M survives a creased printout; segno raises it further when the size allows.
    return segno.make_qr(text, error="m")


def _rows(proof: Proof) -> list[tuple[str, str, str]]:
    paid = _aware(proof.paid_at)
    hours = _ZONE_HOURS.get(proof.zone_label)
    if hours is None:
        paid, paid_zone = paid.astimezone(UTC), "UTC"
    else:
        paid, paid_zone = paid.astimezone(timezone(timedelta(hours=hours))), proof.zone_label
    return [
        ("Kantor", "Office", f"{proof.office_name}, {proof.office_city}"),
        ("Tanggal kedatangan", "Appointment date", tanggal(proof.date)),
        ("Sesi", "Session", sesi(proof.session_start, proof.session_end, proof.zone_label)),
        ("Layanan", "Lane", proof.lane),
        ("Jenis permohonan", "Application", proof.application_kind),
        ("Jenis paspor", "Passport type", f"{proof.passport_type}, {proof.validity_years} tahun"),
        ("Nama pemohon", "Applicant", proof.applicant_name),
        ("NIK", "National ID number", proof.nik_masked),
        ("Biaya (PNBP)", "Fee", rupiah(proof.amount)),
        ("Dibayar", "Paid at", f"{tanggal(paid.date())}, {paid:%H:%M} {paid_zone}"),
        ("Status", "Status", proof.status),
    ]


def _row(pdf: FPDF, width: float, label: str, english: str, value: str) -> None:
    top = pdf.get_y()
    pdf.set_xy(_MARGIN, top)
    pdf.set_font("Helvetica", "B", 10)
    pdf.cell(_LABEL_WIDTH, 5, label)
    pdf.set_xy(_MARGIN, top + 5)
    _english(pdf, _LABEL_WIDTH, english)
    pdf.set_xy(_MARGIN + _LABEL_WIDTH, top)
    pdf.set_font("Helvetica", "", 10.5)
    pdf.multi_cell(width - _LABEL_WIDTH, 5, _latin1(value), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    bottom = max(pdf.get_y(), top + 8.5) + 1
    pdf.set_draw_color(210, 210, 210)
    pdf.line(_MARGIN, bottom, _MARGIN + width, bottom)
    pdf.set_y(bottom + 1.5)


def _english(pdf: FPDF, width: float, text: str, *, size: float = 7.5) -> None:
    """The English gloss under an Indonesian label: smaller, grey, italic."""
    pdf.set_font("Helvetica", "I", size)
    pdf.set_text_color(*_GREY)
    pdf.multi_cell(width, size * 0.5, text, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_text_color(*_BLACK)


def _latin1(text: str) -> str:
    """Text the core PDF fonts can encode: accents outside latin-1 dropped, the rest "?"."""
    out: list[str] = []
    for char in text.translate(_LATIN1_FALLBACKS):
        if ord(char) < 256:
            out.append(char)
            continue
        # "Ş" -> "S", "ő" -> "o"; letters with no decomposition ("Ŋ", emoji) become "?".
        base = "".join(
            c
            for c in unicodedata.normalize("NFKD", char)
            if ord(c) < 256 and not unicodedata.combining(c)
        )
        out.append(base or "?")
    return "".join(out)


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
