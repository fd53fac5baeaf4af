"""Document uploads, the proof of registration, and outgoing e-mail."""

from __future__ import annotations

import base64
import io
import re
import socketserver
import stat
import struct
import threading
import zlib
from collections.abc import Iterator
from datetime import UTC, date, datetime, time
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path

import pytest
from PIL import Image

from api.booking.documents import (
    MAX_DOCUMENT_BYTES,
    DocumentKind,
    DocumentRejected,
    DocumentStore,
    sniff_media_type,
)
from api.booking.inspection import MAX_PDF_OBJECTS
from api.booking.proof import Proof, proof_pdf, qr_png, qr_svg, rupiah, sesi, tanggal
from api.mail import Mailer, Message, read_outbox

from .documents_support import fpdf_document, jpeg, pdf, png, raw_pdf

JPEG = jpeg()
PNG = png()
PDF = pdf()


# --- documents ------------------------------------------------------------------------------


@pytest.fixture
def store(tmp_path: Path) -> DocumentStore:
    return DocumentStore(tmp_path / "var" / "documents")


def _leftovers(store: DocumentStore, booking_id: int) -> list[str]:
    """Files other than stored documents and the lock: temp files that should be gone."""
    return [
        p.name
        for p in (store.root / str(booking_id)).iterdir()
        if p.name != ".lock" and p.name.startswith(".")
    ]


@pytest.mark.parametrize(
    ("head", "expected"),
    [
        (JPEG[:8], "image/jpeg"),
        (PNG[:8], "image/png"),
        (PDF[:8], "application/pdf"),
        (b"GIF89a..", None),
        (b"<html><b", None),
        (b"\x89PNG\r\n", None),  # truncated signature
        (b"", None),
    ],
)
def test_sniff_media_type_reads_content(head: bytes, expected: str | None) -> None:
    assert sniff_media_type(head) == expected


def test_store_root_is_private(store: DocumentStore) -> None:
    assert stat.S_IMODE(store.root.stat().st_mode) == 0o700


def test_save_stores_file_privately_with_hash_name(store: DocumentStore) -> None:
    stored = store.save(42, DocumentKind.KTP, [JPEG[:100], JPEG[100:]])

    assert stored.kind is DocumentKind.KTP
    assert stored.media_type == "image/jpeg"
    assert stored.size == len(JPEG)
    assert re.fullmatch(r"[0-9a-f]{64}", stored.sha256)
    assert stored.path == Path("42") / f"ktp-{stored.sha256[:16]}.jpg"
    on_disk = store.root / stored.path
    assert on_disk.read_bytes() == JPEG
    assert stat.S_IMODE(on_disk.stat().st_mode) == 0o600
    with store.open(stored.path) as handle:
        assert handle.read() == JPEG
    assert _leftovers(store, 42) == []


def test_save_sniffs_across_tiny_chunks(store: DocumentStore) -> None:
    stored = store.save(1, DocumentKind.KK, (bytes([b]) for b in PNG))
    assert stored.media_type == "image/png"
    assert stored.path.suffix == ".png"


def test_reupload_replaces_only_the_same_kind(store: DocumentStore) -> None:
    first = store.save(7, DocumentKind.SUPPORTING, [PDF])
    other = store.save(7, DocumentKind.KK, [JPEG])
    second = store.save(7, DocumentKind.SUPPORTING, [PNG])

    assert not (store.root / first.path).exists()
    assert (store.root / second.path).exists()
    assert (store.root / other.path).exists()


def test_too_large_is_refused_while_streaming(store: DocumentStore) -> None:
    consumed = 0

    def chunks() -> Iterator[bytes]:
        nonlocal consumed
        yield JPEG
        while True:  # endless: save must stop as soon as the limit is passed
            consumed += 1
            yield b"\0" * 65536

    with pytest.raises(DocumentRejected) as caught:
        store.save(3, DocumentKind.KTP, chunks())
    assert (caught.value.status, caught.value.code) == (413, "too_large")
    assert consumed <= MAX_DOCUMENT_BYTES // 65536 + 1
    assert list((store.root / "3").glob("ktp-*")) == []
    assert _leftovers(store, 3) == []


def test_exactly_the_limit_is_accepted(store: DocumentStore) -> None:
    body = PDF + b"\n" * (MAX_DOCUMENT_BYTES - len(PDF))
    assert store.save(3, DocumentKind.OLD_PASSPORT, [body]).size == MAX_DOCUMENT_BYTES


@pytest.mark.parametrize(
    ("chunks", "status", "code"),
    [
        ([], 422, "empty"),
        ([b"", b""], 422, "empty"),
        ([b"GIF89a", b"\0" * 100], 415, "unsupported_type"),
        ([b"MZ\x90\x00" * 10], 415, "unsupported_type"),
        ([b"\xff\xd8"], 415, "unsupported_type"),  # too short to be anything
        ([JPEG, b"...<ScRiPt>alert(1)</script>"], 415, "unsupported_type"),
        ([PNG[:30], b"<?p", b"hp system($_GET['c']); ?>"], 415, "unsupported_type"),
        ([b"\xff\xd8\xff\xe0<html><body>"], 415, "unsupported_type"),
    ],
)
def test_refused_uploads(store: DocumentStore, chunks: list[bytes], status: int, code: str) -> None:
    with pytest.raises(DocumentRejected) as caught:
        store.save(5, DocumentKind.SUPPORTING, chunks)
    assert (caught.value.status, caught.value.code) == (status, code)
    assert caught.value.message
    assert list((store.root / "5").glob("pendukung-*")) == []
    assert _leftovers(store, 5) == []


def _refused(store: DocumentStore, body: bytes, chunk: int = 65536) -> DocumentRejected:
    with pytest.raises(DocumentRejected) as caught:
        store.save(
            9, DocumentKind.SUPPORTING, [body[i : i + chunk] for i in range(0, len(body), chunk)]
        )
    assert (caught.value.status, caught.value.code) == (415, "unsupported_type")
    assert list((store.root / "9").glob("pendukung-*")) == []
    assert _leftovers(store, 9) == []
    return caught.value


@pytest.mark.parametrize("padding", [64 * 1024, 64 * 1024 - 3, 1024 * 1024])
def test_markup_anywhere_in_an_image_is_refused(store: DocumentStore, padding: int) -> None:
    # The whole file is scanned, not its first 64 KiB (and markup split across chunks is found).
    _refused(store, JPEG + b"\0" * padding + b"<script>alert(1)</script>")


@pytest.mark.parametrize(
    "markup",
    [b'<x onload="alert(1)">', b"<svg/onload=alert(1)>", b"<img src=x OnError = alert(1)>",
     b'<a href="JavaScript:alert(1)">', b'<?xml version="1.0"?>'],
)  # fmt: skip
def test_event_handler_markup_in_a_real_image_is_refused(
    store: DocumentStore, markup: bytes
) -> None:
    _refused(store, PNG + markup)
    _refused(store, JPEG[:200] + markup + JPEG[200:])


def test_an_svg_behind_png_magic_is_refused(store: DocumentStore) -> None:
    svg = b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>'
    _refused(store, b"\x89PNG\r\n\x1a\n" + svg)
    # No markup at all: PNG magic before anything that is not a PNG is still no image.
    assert "image" in _refused(store, b"\x89PNG\r\n\x1a\n" + b"\0" * 2048).message
    assert "image" in _refused(store, b"\xff\xd8\xff\xe0" + bytes(range(256)) * 8).message


def _png_claiming(width: int, height: int) -> bytes:
    """A PNG header claiming `width` x `height` pixels (what a decompression bomb declares)."""
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    chunk = b"IHDR" + header
    return (
        b"\x89PNG\r\n\x1a\n" + struct.pack(">I", len(header)) + chunk
        + struct.pack(">I", zlib.crc32(chunk)) + b"\0\0\0\0IEND\xaeB`\x82"
    )  # fmt: skip


@pytest.mark.parametrize(("width", "height"), [(50_000, 50_000), (10_001, 10), (7_000, 7_000)])
def test_an_image_of_absurd_dimensions_is_refused_undecoded(
    store: DocumentStore, width: int, height: int
) -> None:
    assert "too large" in _refused(store, _png_claiming(width, height)).message


def test_a_real_image_over_the_side_limit_is_refused(store: DocumentStore) -> None:
    wide = io.BytesIO()
    Image.new("L", (10_001, 8)).save(wide, format="PNG")
    assert "too large" in _refused(store, wide.getvalue()).message


def test_a_png_with_a_broken_chunk_is_refused(store: DocumentStore) -> None:
    broken = bytearray(PNG)
    broken[40] ^= 0xFF  # inside the image data: its checksum no longer matches
    _refused(store, bytes(broken))


ESCAPED_SCRIPT = b"<< /S /J#61v#61Script /J#53 (app.alert\\(1\\)) >>"
ATTACHED = (
    b"<< /Type /Filespec /F (a.exe) /EF << /F 6 0 R >> >>",
    b"<< /Type /EmbeddedFile /Length 1 >>\nstream\nx\nendstream",
)


@pytest.mark.parametrize(
    ("catalog", "more"),
    [
        (b"/Names << /JavaScript 4 0 R >>", [b"<< /Names [(x) 5 0 R] >>",
                                             b"<< /S /JavaScript /JS (app.alert\\(1\\)) >>"]),
        # The same names written with #xx escapes: the same names to a PDF reader.
        (b"/Names << /J#61vaScript 4 0 R >>", [b"<< /Names [(x) 5 0 R] >>", ESCAPED_SCRIPT]),
        (b"/OpenAction 4 0 R", [b"<< /S /Launch /F (calc.exe) >>"]),
        (b"/Open#41ction 4 0 R", [b"<< /S /Lau#6Ech /F (calc.exe) >>"]),
        (b"/OpenAction << /S /GoTo /D [3 0 R /Fit] /Next 4 0 R >>", [b"<< /S /URI /URI (x) >>"]),
        (b"/AcroForm << /Fields [] /XFA 4 0 R >>", [b"<< /Length 0 >>\nstream\n\nendstream"]),
        (b"/Names << /EmbeddedFiles 4 0 R >>", [b"<< /Names [(a.exe) 5 0 R] >>", *ATTACHED]),
        (b"/AA << /WC 4 0 R >>", [b"<< /S /Named /N /Print >>"]),
        # Nothing points to it: still refused (a viewer repairing the file may find it).
        (b"", [b"<< /S /JavaScript /JS (app.alert\\(1\\)) >>"]),
    ],
)  # fmt: skip
def test_pdfs_with_active_content_are_refused(
    store: DocumentStore, catalog: bytes, more: list[bytes]
) -> None:
    refusal = _refused(store, raw_pdf(catalog, *more))
    assert "active content" in refusal.message


def test_a_launch_action_on_a_page_link_is_refused(store: DocumentStore) -> None:
    link = b"<< /Type /Annot /Subtype /Link /Rect [0 0 9 9] /A << /S /Launch /F (x.exe) >> >>"
    body = raw_pdf(b"", link).replace(
        b"/MediaBox [0 0 595 842]", b"/MediaBox [0 0 595 842] /Annots [4 0 R]"
    )
    assert "active content" in _refused(store, body).message


def test_a_pdf_of_too_many_objects_is_refused_unwalked(store: DocumentStore) -> None:
    many = [b"<< /N %d >>" % n for n in range(MAX_PDF_OBJECTS)]
    assert "too many objects" in _refused(store, raw_pdf(b"", *many)).message


@pytest.mark.parametrize(
    "body",
    [b"%PDF-1.7\n" + b"\0" * 4096, b"%PDF-1.4\n" + b"0" * 4096, raw_pdf(b"")[:-40]],
)
def test_what_only_starts_like_a_pdf_is_refused(store: DocumentStore, body: bytes) -> None:
    _refused(store, body)


@pytest.mark.parametrize(
    ("body", "media_type"),
    [
        (PDF, "application/pdf"),
        # fpdf2 opens at the first page (an /OpenAction destination): harmless, accepted.
        (fpdf_document(), "application/pdf"),
        (raw_pdf(b"/OpenAction [3 0 R /FitH null]"), "application/pdf"),
        (JPEG, "image/jpeg"),
        (jpeg(4000, 3000), "image/jpeg"),
        (PNG, "image/png"),
    ],
)
def test_real_documents_are_accepted(store: DocumentStore, body: bytes, media_type: str) -> None:
    stored = store.save(10, DocumentKind.SUPPORTING, [body])
    assert stored.media_type == media_type
    assert (store.root / stored.path).read_bytes() == body


def test_failed_reupload_keeps_the_earlier_file(store: DocumentStore) -> None:
    kept = store.save(8, DocumentKind.KK, [JPEG])
    with pytest.raises(DocumentRejected):
        store.save(8, DocumentKind.KK, [b"not a document"])
    assert (store.root / kept.path).read_bytes() == JPEG


@pytest.mark.parametrize("escape", ["../outside.txt", "42/../../outside.txt", "/etc/passwd", "."])
def test_open_refuses_paths_outside_root(store: DocumentStore, escape: str) -> None:
    (store.root.parent / "outside.txt").write_text("secret")
    with pytest.raises(ValueError):
        store.open(Path(escape))


def test_open_refuses_symlink_out_of_root(store: DocumentStore, tmp_path: Path) -> None:
    (tmp_path / "secret").write_text("secret")
    (store.root / "link").symlink_to(tmp_path / "secret")
    with pytest.raises(ValueError):
        store.open(Path("link"))


def test_document_kind_values() -> None:
    assert [k.value for k in DocumentKind] == ["ktp", "kk", "pendukung", "paspor_lama"]


# --- proof ----------------------------------------------------------------------------------


def _proof(**changes: object) -> Proof:
    fields: dict[str, object] = {
        "booking_code": "ANT-7K3Q9M",
        "qr_text": "https://antri.local/b/ANT-7K3Q9M?sig=abc123",
        "office_name": "Kantor Imigrasi Kelas I Khusus TPI Jakarta Selatan",
        "office_city": "Jakarta Selatan",
        "zone_label": "WIB",
        "date": date(2026, 12, 7),
        "session_start": time(8, 0),
        "session_end": time(10, 0),
        "lane": "reguler",
        "application_kind": "Baru",
        "passport_type": "Paspor elektronik",
        "validity_years": 10,
        "applicant_name": "Siti Nurhaliza",
        "nik_masked": "3174********0001",
        "amount": 950_000,
        "paid_at": datetime(2026, 11, 30, 3, 15, tzinfo=UTC),
        "status": "Lunas",
    }
    fields.update(changes)
    return Proof(**fields)  # type: ignore[arg-type]


def _pdf_text(pdf: bytes) -> str:
    """The page content streams, inflated: enough to find the text drawn with core fonts."""
    out = []
    for match in re.finditer(rb"stream\r?\n(.*?)\r?\nendstream", pdf, re.S):
        try:
            out.append(zlib.decompress(match.group(1)).decode("latin-1"))
        except zlib.error:
            out.append(match.group(1).decode("latin-1"))
    return "\n".join(out)


@pytest.mark.parametrize(
    ("amount", "expected"),
    [
        (0, "Rp 0"),
        (500, "Rp 500"),
        (350_000, "Rp 350.000"),
        (1_650_000, "Rp 1.650.000"),
        (12_345_678_900, "Rp 12.345.678.900"),
        (-1_000, "-Rp 1.000"),
    ],
)
def test_rupiah(amount: int, expected: str) -> None:
    assert rupiah(amount) == expected


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        (date(2026, 12, 7), "Senin, 7 Desember 2026"),
        (date(2025, 1, 1), "Rabu, 1 Januari 2025"),
        (date(2024, 8, 17), "Sabtu, 17 Agustus 2024"),
        (date(2025, 3, 30), "Minggu, 30 Maret 2025"),
        (date(2025, 5, 2), "Jumat, 2 Mei 2025"),
    ],
)
def test_tanggal(day: date, expected: str) -> None:
    assert tanggal(day) == expected


def test_sesi() -> None:
    assert sesi(time(8), time(10), "WITA") == "08:00\u201310:00 WITA"


def test_qr_svg_is_inline_svg() -> None:
    svg = qr_svg("ANT-7K3Q9M")
    assert svg.startswith("<svg")
    assert "<?xml" not in svg
    assert svg.rstrip().endswith("</svg>")


def test_qr_png_is_png() -> None:
    png = qr_png("ANT-7K3Q9M")
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    assert len(qr_png("ANT-7K3Q9M", scale=10)) > 0


def test_proof_pdf_has_the_fields() -> None:
    pdf = proof_pdf(_proof())
    assert pdf.startswith(b"%PDF-")
    assert pdf.rstrip().endswith(b"%%EOF")
    assert b"/Subtype /Image" in pdf  # the QR code
    assert b"/MediaBox [0 0 595.28 841.89]" in pdf  # A4
    assert b"/Count 1" in pdf  # one page
    text = _pdf_text(pdf)
    for expected in [
        "BUKTI PENDAFTARAN PASPOR",
        "ANT-7K3Q9M",
        "Rp 950.000",
        "Senin, 7 Desember 2026",
        "08:00-10:00 WIB",
        "Siti Nurhaliza",
        "3174********0001",
        "Paspor elektronik, 10 tahun",
        "Senin, 30 November 2026, 10:15 WIB",  # paid 03:15 UTC
        "PERHATIAN",
        "30 menit",
        "H-1",
    ]:
        assert expected in text, expected


def test_proof_pdf_is_reproducible() -> None:
    assert proof_pdf(_proof()) == proof_pdf(_proof())


@pytest.mark.parametrize(
    "name",
    ["\u014aurhaliza \U0001f642", "\u015eahin \u0150z O\u2019Brien \u2013 \u674e", "\u0000\t"],
)
def test_proof_pdf_survives_names_outside_latin1(name: str) -> None:
    pdf = proof_pdf(_proof(applicant_name=name, office_city="Ma\u0142ang \u2014 Jawa"))
    assert pdf.startswith(b"%PDF-")


def test_proof_pdf_replaces_unencodable_characters() -> None:
    text = _pdf_text(proof_pdf(_proof(applicant_name="\u015eahin \u014a \U0001f642")))
    assert "Sahin ? ?" in text


def test_proof_pdf_naive_paid_at_is_utc_and_zone_follows_office() -> None:
    proof = _proof(zone_label="WIT", paid_at=datetime(2026, 11, 30, 23, 30))
    assert "Selasa, 1 Desember 2026, 08:30 WIT" in _pdf_text(proof_pdf(proof))


# --- mail -----------------------------------------------------------------------------------


def _parse(path: Path) -> EmailMessage:
    with path.open("rb") as handle:
        parsed = BytesParser(policy=policy.default).parse(handle)
    assert isinstance(parsed, EmailMessage)
    return parsed


def test_outbox_write_and_read_back(tmp_path: Path) -> None:
    outbox = tmp_path / "outbox"
    mailer = Mailer(None, outbox)
    first = mailer.send(Message("a@example.id", "Kode verifikasi", "Kode Anda: 123456"))
    second = mailer.send(Message("b@example.id", "Pembayaran diterima", "Terima kasih.\nSalam"))

    assert re.fullmatch(r"\d{8}T\d{6}\.\d{6}Z-[0-9a-f]{12}\.eml", first)
    assert sorted(p.name for p in outbox.iterdir()) == sorted([first, second])
    entries = read_outbox(outbox)
    assert [e.name for e in entries] == [second, first]  # newest first
    assert entries[0].to == "b@example.id"
    assert entries[0].subject == "Pembayaran diterima"
    assert entries[0].text.rstrip("\n") == "Terima kasih.\nSalam"
    assert entries[0].date.tzinfo is not None
    assert abs((datetime.now(UTC) - entries[0].date).total_seconds()) < 60
    assert [e.name for e in read_outbox(outbox, limit=1)] == [second]


def test_read_outbox_of_missing_directory_is_empty(tmp_path: Path) -> None:
    assert read_outbox(tmp_path / "nope") == []


def test_outbox_key_is_idempotent(tmp_path: Path) -> None:
    mailer = Mailer(None, tmp_path)
    name = mailer.send(Message("a@example.id", "Bukti", "pertama"), key="proof-42")
    again = mailer.send(Message("a@example.id", "Bukti", "kedua"), key="proof-42")

    assert name == again == "proof-42.eml"
    assert [p.name for p in tmp_path.iterdir()] == ["proof-42.eml"]
    assert read_outbox(tmp_path)[0].text.strip() == "pertama"
    assert _parse(tmp_path / name)["Message-ID"] == "<proof-42@antri.local>"


@pytest.mark.parametrize("key", ["../x", "", ".hidden", "a/b", "a b", "x" * 200])
def test_unsafe_keys_are_refused(tmp_path: Path, key: str) -> None:
    with pytest.raises(ValueError):
        Mailer(None, tmp_path).send(Message("a@example.id", "s", "t"), key=key)


def test_header_injection_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        Mailer(None, tmp_path).send(Message("a@example.id", "Hi\r\nBcc: x@evil.test", "t"))


def test_attachment_is_in_the_eml(tmp_path: Path) -> None:
    pdf = proof_pdf(_proof())
    mailer = Mailer(None, tmp_path, sender="Antri Imigrasi <noreply@antri.example>")
    name = mailer.send(
        Message(
            "siti@example.id",
            "Bukti pendaftaran ANT-7K3Q9M",
            "Terlampir bukti pendaftaran paspor Anda.",
            attachments=(("bukti-ANT-7K3Q9M.pdf", "application/pdf", pdf),),
        )
    )
    parsed = _parse(tmp_path / name)
    assert parsed["From"] == "Antri Imigrasi <noreply@antri.example>"
    (attachment,) = list(parsed.iter_attachments())
    assert attachment.get_filename() == "bukti-ANT-7K3Q9M.pdf"
    assert attachment.get_content_type() == "application/pdf"
    assert attachment.get_content() == pdf
    assert read_outbox(tmp_path)[0].text.strip() == "Terlampir bukti pendaftaran paspor Anda."


def test_bad_smtp_url_fails_at_construction(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        Mailer("http://mail.example", tmp_path)


class _SmtpSink(socketserver.ThreadingTCPServer):
    """Just enough SMTP to receive mail: records each envelope and message."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _SmtpHandler)
        self.received: list[tuple[str, list[str], bytes]] = []
        self.logins: list[str] = []


class _SmtpHandler(socketserver.StreamRequestHandler):
    server: _SmtpSink

    def handle(self) -> None:
        self._reply("220 sink ESMTP")
        sender, recipients = "", list[str]()
        while line := self.rfile.readline():
            command = line.decode().rstrip("\r\n")
            verb = command.split(" ", 1)[0].upper()
            if verb in ("EHLO", "HELO"):
                self._reply("250-sink\r\n250 AUTH PLAIN")
            elif verb == "AUTH":
                self.server.logins.append(base64.b64decode(command.split()[2]).decode())
                self._reply("235 2.7.0 ok")
            elif verb == "MAIL":
                sender, recipients = command[10:].split(">")[0].lstrip("<"), []
                self._reply("250 ok")
            elif verb == "RCPT":
                recipients.append(command[8:].split(">")[0].lstrip("<"))
                self._reply("250 ok")
            elif verb == "DATA":
                self._reply("354 go ahead")
                lines: list[bytes] = []
                while (data := self.rfile.readline()) not in (b".\r\n", b""):
                    lines.append(data[1:] if data.startswith(b"..") else data)
                self.server.received.append((sender, recipients, b"".join(lines)))
                self._reply("250 queued")
            elif verb == "QUIT":
                self._reply("221 bye")
                return
            else:
                self._reply("250 ok")

    def _reply(self, text: str) -> None:
        self.wfile.write(text.encode() + b"\r\n")


@pytest.fixture
def smtp_sink() -> Iterator[_SmtpSink]:
    sink = _SmtpSink()
    thread = threading.Thread(target=sink.serve_forever, daemon=True)
    thread.start()
    try:
        yield sink
    finally:
        sink.shutdown()
        sink.server_close()
        thread.join(timeout=5)


def test_smtp_send_reaches_the_server(tmp_path: Path, smtp_sink: _SmtpSink) -> None:
    port = smtp_sink.server_address[1]
    mailer = Mailer(f"smtp://antri%40mail:p%3Ass@127.0.0.1:{port}", tmp_path / "outbox")
    message = Message(
        "siti@example.id",
        "Bukti pendaftaran",
        "Halo Siti,\n.titik di awal baris\nSalam",
        attachments=(("bukti.pdf", "application/pdf", b"%PDF-1.4 tiny"),),
    )

    message_id = mailer.send(message)

    assert message_id.startswith("<") and message_id.endswith("@antri.local>")
    assert smtp_sink.logins == ["\0antri@mail\0p:ss"]
    ((sender, recipients, data),) = smtp_sink.received
    assert (sender, recipients) == ("no-reply@antri.local", ["siti@example.id"])
    parsed = BytesParser(policy=policy.default).parsebytes(data)
    assert isinstance(parsed, EmailMessage)
    assert parsed["Subject"] == "Bukti pendaftaran"
    assert parsed["Message-ID"] == message_id
    body = parsed.get_body(preferencelist=("plain",))
    assert isinstance(body, EmailMessage)
    assert ".titik di awal baris" in body.get_content()
    (attachment,) = list(parsed.iter_attachments())
    assert attachment.get_content() == b"%PDF-1.4 tiny"
    assert not (tmp_path / "outbox").exists() or not list((tmp_path / "outbox").glob("*.eml"))


def test_smtp_key_sends_once(tmp_path: Path, smtp_sink: _SmtpSink) -> None:
    outbox = tmp_path / "outbox"
    mailer = Mailer(f"smtp://127.0.0.1:{smtp_sink.server_address[1]}", outbox)
    first = mailer.send(Message("a@example.id", "s", "t"), key="verify-7")
    second = mailer.send(Message("a@example.id", "s", "t"), key="verify-7")

    assert first == second == "<verify-7@antri.local>"
    assert len(smtp_sink.received) == 1
    assert (outbox / "sent" / "verify-7").read_text() == first
    assert smtp_sink.logins == []


def test_smtp_failure_leaves_no_marker(tmp_path: Path) -> None:
    sink = _SmtpSink()
    port = sink.server_address[1]
    sink.server_close()  # nothing listens any more
    mailer = Mailer(f"smtp://127.0.0.1:{port}", tmp_path)
    with pytest.raises(OSError):
        mailer.send(Message("a@example.id", "s", "t"), key="k1")
    assert not (tmp_path / "sent" / "k1").exists()
