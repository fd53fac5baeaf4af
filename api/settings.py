"""Antri's settings, read once from `ANTRI_*` environment variables into a frozen dataclass."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from queue_engine.keys import ROOM_NAME
from queue_engine.proof import MAX_DIFFICULTY
from queue_engine.settings import DEFAULT_POW_DIFFICULTY, EngineSettings, RoomSettings

from .client_address import Network, parse_networks
from .private_files import kept_secret


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
    #: a plain Redis for the job queue (RQ), needed when the rooms live on a Redis Cluster;
    #: None: the jobs share redis_url
    jobs_redis_url: str | None = None
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
    #: serve the sandbox bank (anyone may pay any billing code for free): only when asked for
    sandbox_payments: bool = False
    #: serve the operator's API for load-test accounts (/api/v1/admin/test-accounts): only when
    #: asked for (ANTRI_LOAD_TEST_ACCOUNTS), on a staging instance
    load_test_accounts: bool = False
    #: None: e-mails are written to data_dir/outbox
    smtp_url: str | None = None
    #: where the sandbox bank sends its callbacks (default: this server)
    public_url: str | None = None
    #: how often each app process expires overdue bookings and feeds the room's inventory
    sweep_seconds: float = 2.0
    #: feed the guard room's inventory from the places left (off: set it by hand)
    feed_inventory: bool = True
    #: make the guard room's release events from the offices' weekly rules (api/releases.py)
    plan_releases: bool = True
    #: open connections one process serves at most (None: under its file-descriptor limit)
    max_connections: int | None = None
    #: a request's line and headers must arrive within this long (slow-header attacks)
    header_timeout_seconds: int = 10
    #: a request's body may stall (no byte arriving) this long at most
    body_timeout_seconds: int = 30
    room_defaults: RoomSettings = field(default_factory=RoomSettings)
    #: reverse proxies whose X-Forwarded-For names the client (ANTRI_TRUSTED_PROXIES, CIDRs)
    trusted_proxies: tuple[Network, ...] = ()
    engine: EngineSettings = field(default_factory=EngineSettings)

    @property
    def jobs_redis(self) -> str | None:
        """The URL of the Redis that holds the job queue."""
        return self.jobs_redis_url or self.redis_url

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
            pow_difficulty=_int(
                env, "ANTRI_POW_DIFFICULTY", DEFAULT_POW_DIFFICULTY, low=0, high=MAX_DIFFICULTY
            ),
            joins_per_minute_per_client=_int(
                env, "ANTRI_JOINS_PER_MINUTE_PER_CLIENT", 60, low=0, high=100_000
            ),
        )
        redis_url = _url(env, "ANTRI_REDIS_URL", REDIS_SCHEMES)
        redis_cluster = _bool(env, "ANTRI_REDIS_CLUSTER", False)
        jobs_redis_url = _url(env, "ANTRI_JOBS_REDIS_URL", REDIS_SCHEMES)
        if redis_cluster and redis_url is None:
            raise SettingsError(
                "ANTRI_REDIS_CLUSTER: on, but ANTRI_REDIS_URL (a node of the cluster) is not set"
            )
        if redis_cluster and jobs_redis_url is None:
            # RQ's keys are not hash-tagged: its scripts and transactions fail on a cluster.
            raise SettingsError(
                "ANTRI_JOBS_REDIS_URL: needed when ANTRI_REDIS_CLUSTER is on"
                " (the job queue needs a plain Redis, not a cluster)"
            )
        return cls(
            secret=_secret(env, "ANTRI_SECRET", data_dir / "secret"),
            admin_token=_secret(env, "ANTRI_ADMIN_TOKEN", data_dir / "admin-token").decode(),
            host=env.get("ANTRI_HOST", "127.0.0.1"),
            port=_int(env, "ANTRI_PORT", 8080, high=65535),
            data_dir=data_dir,
            redis_url=redis_url,
            redis_cluster=redis_cluster,
            jobs_redis_url=jobs_redis_url,
            rooms=rooms,
            guard_room=guard,
            cookie_secure=_bool(env, "ANTRI_COOKIE_SECURE", False),
            database_url=_url(env, "ANTRI_DATABASE_URL", DATABASE_SCHEMES),
            database_pool_size=_int(env, "ANTRI_DATABASE_POOL_SIZE", 16),
            data_key=_secret(env, "ANTRI_DATA_KEY", data_dir / "data-key"),
            payment_secret=_secret(env, "ANTRI_PAYMENT_SECRET", data_dir / "payment-secret"),
            payment_window_seconds=_int(env, "ANTRI_PAYMENT_WINDOW_SECONDS", 7200),
            smtp_url=_url(env, "ANTRI_SMTP_URL", SMTP_SCHEMES),
            sandbox_payments=_bool(env, "ANTRI_SANDBOX_PAYMENTS", False),
            load_test_accounts=_bool(env, "ANTRI_LOAD_TEST_ACCOUNTS", False),
            public_url=_url(env, "ANTRI_PUBLIC_URL", HTTP_SCHEMES),
            max_connections=_int(env, "ANTRI_MAX_CONNECTIONS", 0) or None,
            header_timeout_seconds=_int(env, "ANTRI_HEADER_TIMEOUT_SECONDS", 10),
            body_timeout_seconds=_int(env, "ANTRI_BODY_TIMEOUT_SECONDS", 30),
            room_defaults=defaults,
            trusted_proxies=_networks(env, "ANTRI_TRUSTED_PROXIES"),
            plan_releases=_bool(env, "ANTRI_PLAN_RELEASES", True),
        )


#: the spellings of a yes/no setting, compared case-insensitively; anything else is refused
TRUE_WORDS = frozenset({"1", "true", "yes", "on"})
FALSE_WORDS = frozenset({"0", "false", "no", "off"})
REDIS_SCHEMES = frozenset({"redis", "rediss", "unix"})
DATABASE_SCHEMES = frozenset({"postgresql", "postgres"})
SMTP_SCHEMES = frozenset({"smtp", "smtps"})
HTTP_SCHEMES = frozenset({"http", "https"})


def _bool(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = env.get(name, "").strip()
    if raw == "":
        return default
    word = raw.lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise SettingsError(f"{name}: {raw!r} is not on or off (1/0, true/false, yes/no, on/off)")


def _int(
    env: Mapping[str, str], name: str, default: int, low: int = 1, high: int | None = None
) -> int:
    raw = env.get(name, "").strip()
    if raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise SettingsError(f"{name}: {raw!r} is not a whole number") from None
    if value < low or (high is not None and value > high):
        bounds = f"between {low} and {high}" if high is not None else f"at least {low}"
        raise SettingsError(f"{name}: {value} is out of range (must be {bounds})")
    return value


def _url(env: Mapping[str, str], name: str, schemes: frozenset[str]) -> str | None:
    """The URL in `name` (None when unset), refused unless its scheme is one of `schemes` and
    it names a host (or, for PostgreSQL and Redis, a Unix socket)."""
    raw = env.get(name, "").strip()
    if raw == "":
        return None
    try:
        parts = urlsplit(raw)
        parts.port  # noqa: B018 (raises ValueError on a port that is not a number)
    except ValueError as exc:
        raise SettingsError(f"{name}: not a valid URL ({exc})") from None
    if parts.scheme not in schemes:
        expected = ", ".join(f"{s}://" for s in sorted(schemes))
        raise SettingsError(f"{name}: the URL must start with {expected}")
    socket_path = parts.scheme == "unix" or "host" in parse_qs(parts.query)
    if not parts.hostname and not socket_path:
        raise SettingsError(f"{name}: the URL names no host")
    return raw


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
    try:
        return kept_secret(path)
    except OSError as exc:
        message = f"ANTRI_DATA_DIR: cannot keep a secret in {path}: {exc.strerror}"
        raise SettingsError(message) from None
