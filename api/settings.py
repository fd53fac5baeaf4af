"""Antri's settings, read once from `ANTRI_*` environment variables into a frozen dataclass."""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from queue_engine.keys import ROOM_NAME
from queue_engine.settings import DEFAULT_POW_DIFFICULTY, EngineSettings, RoomSettings

from .client_address import Network, parse_networks


class SettingsError(ValueError):
    """An `ANTRI_*` variable has a value Antri cannot use."""


@dataclass(frozen=True)
class Settings:
    """Everything the application needs to start."""

    secret: bytes
    admin_token: str
    host: str = "127.0.0.1"
    port: int = 8080
    data_dir: Path = Path("var")
    #: None: start a private redis-server under data_dir
    redis_url: str | None = None
    redis_cluster: bool = False
    rooms: tuple[str, ...] = ("paspor",)
    #: the room whose admission the gated routes ask for
    guard_room: str = "paspor"
    cookie_secure: bool = False
    #: None: start an embedded PostgreSQL under data_dir
    database_url: str | None = None
    database_pool_size: int = 16
    #: the key NIKs are sealed with (AES-GCM) and hashed with (HMAC) at rest
    data_key: bytes = b""
    #: the key the payment gateway signs its callbacks with
    payment_secret: bytes = b""
    #: an unpaid booking is cancelled this long after it was made
    payment_window_seconds: int = 7200
    #: serve the sandbox bank (turn off where a real payment gateway calls back)
    sandbox_payments: bool = True
    #: None: e-mails are written to data_dir/outbox
    smtp_url: str | None = None
    #: where the sandbox bank sends its callbacks (default: this server)
    public_url: str | None = None
    #: how often each app process expires overdue bookings and feeds the room's inventory
    sweep_seconds: float = 2.0
    #: feed the guard room's inventory from the places left (off: set it by hand)
    feed_inventory: bool = True
    room_defaults: RoomSettings = field(default_factory=RoomSettings)
    #: reverse proxies whose X-Forwarded-For names the client (ANTRI_TRUSTED_PROXIES, CIDRs)
    trusted_proxies: tuple[Network, ...] = ()
    engine: EngineSettings = field(default_factory=EngineSettings)

    @property
    def outbox(self) -> Path:
        """Where e-mails go when no SMTP server is configured."""
        return self.data_dir / "outbox"

    @property
    def documents_dir(self) -> Path:
        """Uploaded documents: under data_dir, never under a served directory."""
        return self.data_dir / "documents"

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """Build settings from `env` (default: os.environ); secrets are kept under data_dir."""
        env = os.environ if env is None else env
        data_dir = Path(env.get("ANTRI_DATA_DIR", "var"))
        rooms = tuple(r.strip() for r in env.get("ANTRI_ROOMS", "paspor").split(",") if r.strip())
        for room in rooms:
            if not ROOM_NAME.match(room):
                raise SettingsError(f"ANTRI_ROOMS: {room!r} is not a room name (a-z, 0-9, -)")
        guard = env.get("ANTRI_GUARD_ROOM", rooms[0] if rooms else "paspor")
        if guard not in rooms:
            raise SettingsError(f"ANTRI_GUARD_ROOM: {guard!r} is not one of ANTRI_ROOMS")
        defaults = RoomSettings(
            rate_per_minute=_int(env, "ANTRI_RATE_PER_MINUTE", 60),
            burst=_int(env, "ANTRI_BURST", 10),
            max_active=_int(env, "ANTRI_MAX_ACTIVE", 200),
            session_seconds=_int(env, "ANTRI_SESSION_MINUTES", 15) * 60,
            pow_difficulty=_int(env, "ANTRI_POW_DIFFICULTY", DEFAULT_POW_DIFFICULTY, least=0),
            joins_per_minute_per_client=_int(env, "ANTRI_JOINS_PER_MINUTE_PER_CLIENT", 60, least=0),
        )
        return cls(
            secret=_secret(env, "ANTRI_SECRET", data_dir / "secret"),
            admin_token=_secret(env, "ANTRI_ADMIN_TOKEN", data_dir / "admin-token").decode(),
            host=env.get("ANTRI_HOST", "127.0.0.1"),
            port=_int(env, "ANTRI_PORT", 8080),
            data_dir=data_dir,
            redis_url=env.get("ANTRI_REDIS_URL") or None,
            redis_cluster=env.get("ANTRI_REDIS_CLUSTER", "") in ("1", "true", "yes"),
            rooms=rooms,
            guard_room=guard,
            cookie_secure=env.get("ANTRI_COOKIE_SECURE", "") in ("1", "true", "yes"),
            database_url=env.get("ANTRI_DATABASE_URL") or None,
            database_pool_size=_int(env, "ANTRI_DATABASE_POOL_SIZE", 16),
            data_key=_secret(env, "ANTRI_DATA_KEY", data_dir / "data-key"),
            payment_secret=_secret(env, "ANTRI_PAYMENT_SECRET", data_dir / "payment-secret"),
            payment_window_seconds=_int(env, "ANTRI_PAYMENT_WINDOW_SECONDS", 7200),
            smtp_url=env.get("ANTRI_SMTP_URL") or None,
            sandbox_payments=env.get("ANTRI_SANDBOX_PAYMENTS", "1") not in ("0", "false", "no"),
            public_url=env.get("ANTRI_PUBLIC_URL") or None,
            room_defaults=defaults,
            trusted_proxies=_networks(env, "ANTRI_TRUSTED_PROXIES"),
        )


def _int(env: Mapping[str, str], name: str, default: int, *, least: int = 1) -> int:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise SettingsError(f"{name}: {raw!r} is not a whole number") from None
    if value < least:
        raise SettingsError(f"{name}: must be at least {least}")
    return value


def _networks(env: Mapping[str, str], name: str) -> tuple[Network, ...]:
    try:
        return parse_networks(env.get(name, ""))
    except ValueError as exc:
        raise SettingsError(f"{name}: {exc}") from None


def _secret(env: Mapping[str, str], name: str, path: Path) -> bytes:
    """The secret in variable `name`, else one generated on first run and kept in `path`."""
    value = env.get(name)
    return value.encode() if value else _kept_secret(path)


def _kept_secret(path: Path) -> bytes:
    """A random secret generated on first run and kept in `path` (readable by its owner only)."""
    if path.exists():
        return path.read_text().strip().encode()
    path.parent.mkdir(parents=True, exist_ok=True)
    value = secrets.token_urlsafe(32)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(value + "\n")
    return value.encode()
