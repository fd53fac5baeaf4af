"""Applicant document uploads: checked by content, stored outside the web root."""

from __future__ import annotations

import contextlib
import dataclasses
import fcntl
import hashlib
import os
import shutil
import tempfile
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum
from pathlib import Path
from typing import BinaryIO

from api.booking.errors import BookingError
from api.booking.inspection import Inadmissible, MarkupScan, check_image, check_pdf
from api.private_files import private_directory


class DocumentKind(StrEnum):
    """Which document an upload is; one file per kind per booking."""

    #: Kartu Tanda Penduduk, the applicant's (or for a child, a parent's) identity card.
    KTP = "ktp"
    #: Kartu Keluarga, the family card.
    KK = "kk"
    #: Birth certificate, marriage book/certificate or diploma.
    SUPPORTING = "pendukung"
    #: The previous passport, required for replacements.
    OLD_PASSPORT = "paspor_lama"


def required_documents(application_kind: str) -> tuple[DocumentKind, ...]:
    """What an application of this kind must bring: KTP, KK and a supporting document, and the
    old passport to replace one (a lost passport is reported at the office instead)."""
    base = (DocumentKind.KTP, DocumentKind.KK, DocumentKind.SUPPORTING)
    return (
        (*base, DocumentKind.OLD_PASSPORT) if application_kind in ("penggantian", "rusak") else base
    )


MAX_DOCUMENT_BYTES = 2 * 1024 * 1024
#: the folders of uploads staged by a draft, before its booking exists (booking ids are UUIDs)
DRAFT_PREFIX = "draft-"

#: Long enough for every signature below (PNG's is the longest).
SNIFF_BYTES = 8

_SIGNATURES: tuple[tuple[bytes, str], ...] = (
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"%PDF-", "application/pdf"),
)
_ACTIVE_CONTENT = "The file carries scripts or markup and was refused."
_EXTENSIONS = {"image/jpeg": ".jpg", "image/png": ".png", "application/pdf": ".pdf"}


def sniff_media_type(head: bytes) -> str | None:
    """The media type of a document from its first bytes, or None if it is not one we accept."""
    for signature, media_type in _SIGNATURES:
        if head.startswith(signature):
            return media_type
    return None


class DocumentRejected(BookingError):
    """An upload refused before it was stored; status and code are meant for the HTTP reply."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message

    @classmethod
    def too_large(cls) -> DocumentRejected:
        """The upload passed MAX_DOCUMENT_BYTES."""
        limit_mib = MAX_DOCUMENT_BYTES // (1024 * 1024)
        return cls(413, "too_large", f"The document is larger than {limit_mib} MiB.")

    @classmethod
    def unsupported_type(
        cls, detail: str = "Only JPEG, PNG or PDF files are accepted."
    ) -> DocumentRejected:
        """The content is not a JPEG, PNG or PDF, or carries active content."""
        return cls(415, "unsupported_type", detail)

    @classmethod
    def empty(cls) -> DocumentRejected:
        """The upload had no bytes."""
        return cls(422, "empty", "The document is empty.")


@dataclass(frozen=True)
class StoredDocument:
    """A document on disk; `path` is relative to the store root (what the database keeps)."""

    kind: DocumentKind
    media_type: str
    size: int
    sha256: str
    path: Path


class DocumentStore:
    """Documents under <root>/<booking_id>/, one file per kind, private to the service user."""

    def __init__(self, root: Path) -> None:
        # The root must sit outside any static/web root: files are only served through `open`.
        self.root = private_directory(root)

    def save(
        self, booking_id: int | str, kind: DocumentKind, chunks: Iterable[bytes]
    ) -> StoredDocument:
        """Stream an upload to disk, checking size and content; replaces that kind's old file."""
        directory = self.root / str(booking_id)
        directory.mkdir(mode=0o700, exist_ok=True)
        # mkstemp creates the file 0o600; a dot-prefix keeps it out of the kind globs below.
        fd, temp_name = tempfile.mkstemp(dir=directory, prefix=".upload-", suffix=".part")
        temp = Path(temp_name)
        try:
            with os.fdopen(fd, "wb") as out:
                media_type, size, sha256 = self._receive(chunks, out)
                out.flush()
                os.fsync(out.fileno())
            _inspect(temp, media_type)
            name = f"{kind.value}-{sha256[:16]}{_EXTENSIONS[media_type]}"
            with self._locked(directory):
                os.replace(temp, directory / name)
                # Replace first, then delete: the booking never has zero files of this kind.
                for old in directory.glob(f"{kind.value}-*"):
                    if old.name != name:
                        old.unlink(missing_ok=True)
            _fsync_directory(directory)
        except BaseException:
            temp.unlink(missing_ok=True)
            raise
        return StoredDocument(
            kind=kind,
            media_type=media_type,
            size=size,
            sha256=sha256,
            path=Path(str(booking_id)) / name,
        )

    def move(self, stored: StoredDocument, booking_id: str) -> StoredDocument:
        """A document stored under one owner (a draft's staging folder) moved to a booking: a
        rename within the store, so it is whole or not moved at all."""
        source = self._inside(stored.path)
        directory = self.root / booking_id
        directory.mkdir(mode=0o700, exist_ok=True)
        with self._locked(directory):
            os.replace(source, directory / source.name)
            for old in directory.glob(f"{stored.kind.value}-*"):
                if old.name != source.name:
                    old.unlink(missing_ok=True)
        _fsync_directory(directory)
        return dataclasses.replace(stored, path=Path(booking_id) / source.name)

    def discard(self, owner: str) -> None:
        """Delete everything stored under `owner` (an abandoned draft's staging folder)."""
        shutil.rmtree(self._inside(Path(owner)), ignore_errors=True)

    def discard_stale_drafts(self, older_than: timedelta) -> int:
        """Delete the staging folders of drafts untouched for `older_than`; how many."""
        cutoff = time.time() - older_than.total_seconds()
        stale = [d for d in self.root.glob(f"{DRAFT_PREFIX}*") if d.stat().st_mtime < cutoff]
        for directory in stale:
            shutil.rmtree(directory, ignore_errors=True)
        return len(stale)

    def relative(self, stored_path: str) -> Path:
        """A stored path as the store keeps it, refused if it leads outside the store."""
        return self._inside(Path(stored_path)).relative_to(self.root.resolve())

    def _inside(self, stored_path: Path) -> Path:
        root = self.root.resolve()
        target = (root / stored_path).resolve()
        if not target.is_relative_to(root) or target == root:
            raise ValueError(f"{stored_path} is outside the document store")
        return target

    def open(self, stored_path: Path) -> BinaryIO:
        """Open a stored document for reading; refuses paths that resolve outside the root."""
        return self._inside(stored_path).open("rb")

    @staticmethod
    def _receive(chunks: Iterable[bytes], out: BinaryIO) -> tuple[str, int, str]:
        """Write chunks to `out`; returns (media type, size, sha256) or raises DocumentRejected."""
        digest = hashlib.sha256()
        size = 0
        # Bytes held back until SNIFF_BYTES have arrived; at most SNIFF_BYTES-1 plus one chunk.
        pending = b""
        media_type: str | None = None
        # Images are scanned for markup to their last byte (a PDF is parsed once stored).
        scan: MarkupScan | None = None
        for chunk in chunks:
            if not chunk:
                continue
            size += len(chunk)
            if size > MAX_DOCUMENT_BYTES:
                raise DocumentRejected.too_large()
            digest.update(chunk)
            out.write(chunk)
            if scan is None:
                pending += chunk
                if len(pending) < SNIFF_BYTES:
                    continue
                media_type = sniff_media_type(pending[:SNIFF_BYTES])
                if media_type is None:
                    raise DocumentRejected.unsupported_type()
                scan = MarkupScan()
                chunk, pending = pending, b""
            if media_type != "application/pdf" and scan.feed(chunk):
                raise DocumentRejected.unsupported_type(_ACTIVE_CONTENT)
        if size == 0:
            raise DocumentRejected.empty()
        if media_type is None:
            # Fewer than SNIFF_BYTES in total: still fine if a shorter signature matches.
            media_type = sniff_media_type(pending)
            if media_type is None:
                raise DocumentRejected.unsupported_type()
            if media_type != "application/pdf" and MarkupScan().feed(pending):
                raise DocumentRejected.unsupported_type(_ACTIVE_CONTENT)
        return media_type, size, digest.hexdigest()

    @staticmethod
    @contextlib.contextmanager
    def _locked(directory: Path) -> Iterator[None]:
        # Two concurrent uploads of one kind would otherwise each delete the other's file.
        fd = os.open(directory / ".lock", os.O_WRONLY | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)  # closing drops the lock


def _inspect(path: Path, media_type: str) -> None:
    """Refuse (415) a stored upload that is not really what its first bytes say, or is a PDF
    with active content: parsed by the library made for its format."""
    try:
        if media_type == "application/pdf":
            check_pdf(path)
        else:
            check_image(path, media_type)
    except Inadmissible as refusal:
        raise DocumentRejected.unsupported_type(str(refusal)) from None


def _fsync_directory(directory: Path) -> None:
    # Makes the rename itself durable, not only the file's bytes.
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
