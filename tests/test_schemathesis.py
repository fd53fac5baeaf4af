"""`schemathesis run` from the project's root against the live app (real Redis and PostgreSQL):
no 5xx, every answer as documented, what the document allows accepted (`positive_data_acceptance`)
and what it forbids refused (`negative_data_rejection`). The checks and the statuses a
schema-valid request may get when refused for its content are in `schemathesis.toml`; this test
adds only credentials, so that the run reaches past the gate, the login and the admin token.

Three runs: the applicant's operations with a login and a turn (but not the log-out and the
release, which would end them), the admin operations with the admin token (both take
`Authorization: Bearer`), and every operation with no credentials, as `schemathesis run` alone.
ANTRI_SCHEMATHESIS_EXAMPLES=100 for a longer hunt.
"""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

from .booking_support import new_account, turn
from .conftest import ADMIN_TOKEN, AppFactory

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = os.environ.get("ANTRI_SCHEMATHESIS_EXAMPLES", "15")
SCHEMATHESIS = Path(sys.executable).with_name("schemathesis")


async def run(url: str, *options: str) -> tuple[int, str]:
    """One `schemathesis run` from the root (so that its schemathesis.toml applies)."""
    process = await asyncio.create_subprocess_exec(
        str(SCHEMATHESIS), "run", url, "--max-examples", EXAMPLES, "--seed", "15",
        "--no-color", *options,
        cwd=ROOT, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    output, _ = await process.communicate()
    return process.returncode or 0, output.decode(errors="replace")


async def test_schemathesis_finds_the_document_and_the_app_agree(make_client: AppFactory) -> None:
    assert (ROOT / "schemathesis.toml").is_file()
    client = await make_client(rate_per_minute=60000, burst=500, max_active=1000)
    url = str(client.make_url("/api/openapi.json"))
    _, login = await new_account(client)
    applicant = [f"-H{name}: {value}" for name, value in (login | await turn(client)).items()]
    admin = [f"-HAuthorization: Bearer {ADMIN_TOKEN}"]
    outcomes = [
        await run(url, *applicant, "--exclude-path-regex", "^/api/v1/(admin/|logout|session/)"),
        await run(url, *admin, "--include-path-regex", "^/api/v1/admin/"),
        await run(url),
    ]
    for _, output in outcomes:
        print(output[-3000:])
    failed = [output for status, output in outcomes if status != 0]
    assert not failed, "\n\n".join(output[-6000:] for output in failed)
