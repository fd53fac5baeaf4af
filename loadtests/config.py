"""The load test's knobs, read from `LOAD_*` environment variables (no Locust import here).

Both sides use this module: the locustfile reads the settings in the Locust process, and
`loadtests.run` passes them on to that process through the environment.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from dataclasses import dataclass

#: environment variable of each field of LoadSettings
ENV_NAMES = {
    "room": "LOAD_ROOM",
    "users": "LOAD_USERS",
    "ramp_seconds": "LOAD_RAMP_SECONDS",
    "hold_seconds": "LOAD_HOLD_SECONDS",
    "poll_cap_seconds": "LOAD_POLL_CAP_SECONDS",
    "form_min_seconds": "LOAD_FORM_MIN_SECONDS",
    "form_max_seconds": "LOAD_FORM_MAX_SECONDS",
    "office": "LOAD_OFFICE",
    "account_prefix": "LOAD_ACCOUNT_PREFIX",
    "account_password": "LOAD_ACCOUNT_PASSWORD",
    "accounts": "LOAD_ACCOUNTS",
    "pay_share": "LOAD_PAY_SHARE",
    "logins_per_second": "LOAD_LOGINS_PER_SECOND",
}
#: where the locustfile writes its tally of responses by status code (unset: nowhere)
TALLY_FILE_ENV = "LOAD_TALLY_FILE"


class ConfigError(ValueError):
    """A `LOAD_*` variable that is not a valid value."""


@dataclass(frozen=True, slots=True)
class LoadSettings:
    """A flash crowd: `users` arrive within `ramp_seconds`, stay `hold_seconds`, then stop."""

    room: str = "paspor"
    users: int = 300
    ramp_seconds: float = 5.0
    hold_seconds: float = 60.0
    #: the longest an applicant waits between polls, whatever `poll_after_seconds` says
    poll_cap_seconds: float = 5.0
    #: an admitted applicant "fills the form" for a random time in this range, then releases
    form_min_seconds: float = 5.0
    form_max_seconds: float = 12.0
    #: the office whose reguler places admitted applicants book
    office: str = "tanjung-priok"
    #: applicant n logs in as <account_prefix><n>@antri.test with this password (accounts made
    #: by `antri accounts bulk-create`; n runs from 1 to `accounts`, then starts over; 0: the
    #: crowd does not book)
    account_prefix: str = "load"
    account_password: str = "Antri-Uji-2026"
    accounts: int = 300
    #: the share of new bookings that are paid at once (sandbox bank), then read back
    pay_share: float = 0.5
    #: logins the crowd starts per second at most (0: as soon as each applicant wants one);
    #: a login is an argon2 check of some 0.25 s of CPU
    logins_per_second: float = 0.0

    def __post_init__(self) -> None:
        if self.users < 1:
            raise ConfigError("users must be at least 1")
        if self.ramp_seconds < 0 or self.hold_seconds <= 0:
            raise ConfigError("ramp must be >= 0 s and hold > 0 s")
        if self.poll_cap_seconds <= 0:
            raise ConfigError("the poll cap must be > 0 s")
        if not 0 <= self.form_min_seconds <= self.form_max_seconds:
            raise ConfigError("need 0 <= form min <= form max")
        if self.accounts < 0:
            raise ConfigError("accounts must be at least 0 (0: no booking)")
        if not 0 <= self.pay_share <= 1:
            raise ConfigError("the pay share must be within 0..1")
        if self.logins_per_second < 0:
            raise ConfigError("logins per second must be >= 0")

    @property
    def duration(self) -> float:
        """Seconds from the first user's start to the shape's stop."""
        return self.ramp_seconds + self.hold_seconds

    @property
    def spawn_rate(self) -> float:
        """Users started per second during the ramp (all at once for a zero ramp)."""
        return self.users / self.ramp_seconds if self.ramp_seconds > 0 else float(self.users)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] = os.environ) -> LoadSettings:
        """Settings from `LOAD_*` variables; a missing one keeps its default."""
        values: dict[str, object] = {}
        for field in dataclasses.fields(cls):
            text = environ.get(ENV_NAMES[field.name])
            if text is None or text.strip() == "":
                continue
            kind = type(getattr(cls(), field.name))
            try:
                values[field.name] = kind(text.strip())
            except ValueError:
                raise ConfigError(
                    f"{ENV_NAMES[field.name]}={text!r} is not a {kind.__name__}"
                ) from None
        return cls(**values)  # type: ignore[arg-type]

    def as_env(self) -> dict[str, str]:
        """The settings as `LOAD_*` variables, for the Locust process."""
        return {ENV_NAMES[f.name]: str(getattr(self, f.name)) for f in dataclasses.fields(self)}
