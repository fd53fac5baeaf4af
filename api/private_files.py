"""Files under the data dir are their owner's only: secrets, the Redis AOF, PostgreSQL's data,
receipts (each holds a valid signed QR code), uploaded documents and the outbox.

Two layers: every `antri` process runs with a umask of 077 (so whatever it or its children,
redis-server and PostgreSQL, create is 0600/0700), and the places that create files give the
mode explicitly too, so that the guarantee does not hang on how the process was started.
"""

from __future__ import annotations

import os
import secrets
import stat
import tempfile
from pathlib import Path

#: no permission bits for the group or others on anything created
OWNER_ONLY_UMASK = 0o077
DIRECTORY_MODE = 0o700
FILE_MODE = 0o600

#: the secrets this process generated (first start), as opposed to found already kept
generated: set[Path] = set()


def owner_only_umask() -> None:
    """Make everything this process (and any child it starts) creates its owner's only."""
    os.umask(OWNER_ONLY_UMASK)


def private_directory(path: Path) -> Path:
    """`path` (and any missing parent) created 0700; an existing `path` tightened to 0700."""
    missing = [p for p in (path, *path.parents) if not p.exists()]
    for directory in reversed(missing):
        directory.mkdir(mode=DIRECTORY_MODE, exist_ok=True)
    path.chmod(DIRECTORY_MODE)
    return path


def secure_data_dir(data_dir: Path) -> None:
    """The data dir 0700, and its entries stripped of the group's and others' bits (a data dir
    written by an older version): with the top folder private, nothing below is reachable."""
    private_directory(data_dir)
    if os.geteuid() == 0 and (data_dir / "postgres").is_dir():
        # Run as root, the embedded PostgreSQL runs as a user of its own that must pass
        # through (never list) the data dir (see EmbeddedPostgres.start).
        data_dir.chmod(0o711)
    for entry in data_dir.iterdir():
        if entry.is_symlink():
            continue
        mode = stat.S_IMODE(entry.stat().st_mode)
        if mode & 0o077:
            entry.chmod(mode & 0o700)


def write_private(path: Path, data: bytes) -> None:
    """Write `path` whole (a temp file of its own renamed over it, so two writers at once
    leave one whole file), readable by its owner only."""
    fd, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
    partial = Path(name)
    try:
        with os.fdopen(fd, "wb") as out:  # mkstemp made it 0600
            out.write(data)
        os.replace(partial, path)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise


def kept_secret(path: Path) -> bytes:
    """A random secret generated on first run and kept in `path` (0600, in a 0700 folder)."""
    if path.exists():
        return path.read_text().strip().encode()
    private_directory(path.parent)
    value = secrets.token_urlsafe(32)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
    except FileExistsError:  # another process starting at the same moment made it
        return path.read_text().strip().encode()
    with os.fdopen(fd, "w") as handle:
        handle.write(value + "\n")
    generated.add(path)
    return value.encode()
