"""`python -m loadtests.accounts`: test accounts on a deployed Antri, through its operator API
(the instance runs with ANTRI_LOAD_TEST_ACCOUNTS=1; the admin token in ANTRI_ADMIN_TOKEN or
--admin-token).

    python -m loadtests.accounts create --url https://staging.example --count 300 --password P
    python -m loadtests.accounts show   --url https://staging.example
    python -m loadtests.accounts clean  --url https://staging.example   # their bookings
    python -m loadtests.accounts remove --url https://staging.example   # bookings and accounts

The accounts are <prefix><n>@antri.test (prefix `load` by default, as the locustfile expects);
run the crowd with LOAD_ACCOUNTS=<count> and LOAD_ACCOUNT_PASSWORD=<password>.
"""

from __future__ import annotations

import argparse
import json
import os
import urllib.error
import urllib.request
from collections.abc import Sequence
from typing import Any

ACTIONS = {
    "create": ("POST", ""),
    "show": ("GET", "/{prefix}"),
    "clean": ("DELETE", "/{prefix}/bookings"),
    "remove": ("DELETE", "/{prefix}"),
}


def call(url: str, token: str, method: str, body: dict[str, Any] | None = None) -> Any:
    """One request to the operator API; its JSON answer, or SystemExit with the refusal."""
    request = urllib.request.Request(
        url,
        data=json.dumps(body).encode() if body is not None else None,
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        method=method,
    )
    try:
        with urllib.request.urlopen(request, timeout=120) as answer:
            return json.loads(answer.read())
    except urllib.error.HTTPError as exc:
        detail = exc.read().decode(errors="replace")
        hint = (
            " (is the instance running with ANTRI_LOAD_TEST_ACCOUNTS=1?)" if exc.code == 404 else ""
        )
        message = f"loadtests.accounts: {method} {url}: HTTP {exc.code}{hint}\n{detail}"
        raise SystemExit(message) from None
    except OSError as exc:
        raise SystemExit(f"loadtests.accounts: {method} {url}: {exc}") from None


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m loadtests.accounts",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("action", choices=ACTIONS)
    parser.add_argument("--url", required=True, help="the instance, e.g. https://staging.example")
    parser.add_argument("--admin-token", default=os.environ.get("ANTRI_ADMIN_TOKEN", ""))
    parser.add_argument("--prefix", default=os.environ.get("LOAD_ACCOUNT_PREFIX", "load"))
    parser.add_argument("--count", type=int, default=int(os.environ.get("LOAD_ACCOUNTS", "300")))
    parser.add_argument(
        "--password", default=os.environ.get("LOAD_ACCOUNT_PASSWORD", "Antri-Uji-2026")
    )
    args = parser.parse_args(argv)
    if not args.admin_token:
        parser.error("the admin token: --admin-token or ANTRI_ADMIN_TOKEN")
    method, tail = ACTIONS[args.action]
    url = f"{args.url.rstrip('/')}/api/v1/admin/test-accounts{tail.format(prefix=args.prefix)}"
    body = (
        {"prefix": args.prefix, "count": args.count, "password": args.password}
        if args.action == "create"
        else None
    )
    print(json.dumps(call(url, args.admin_token, method, body)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
