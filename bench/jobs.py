"""Jobs per second of `antri worker`: rq's forking worker with a new database pool per job
(the baseline, as it was) against the worker as it is (jobs in process, one kept pool).

    .venv/bin/python -m bench.jobs            # ~1 minute: 200 jobs each way

Both run the same job (a verification e-mail of an unknown account: one query) on a real
Redis and a real PostgreSQL in a scratch folder. The rate is the jobs over the time from the
first job's start to the last one's end, read from RQ's own records.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import asyncpg
import redis
from rq import Queue

from api import jobs, worker
from api.database import EmbeddedPostgres, migrate
from api.embedded import RedisServer
from api.settings import Settings

JOBS = 200


def _rate(queue: Queue, ids: list[str]) -> float:
    fetched = [queue.fetch_job(job_id) for job_id in ids]
    done = [job for job in fetched if job is not None and job.ended_at and job.started_at]
    assert len(done) == len(ids), f"{len(ids) - len(done)} jobs not done"
    first = min(job.started_at for job in done if job.started_at)
    last = max(job.ended_at for job in done if job.ended_at)
    return len(done) / (last - first).total_seconds()


def _measure(mode: str, env: dict[str, str], connection: redis.Redis) -> float:
    queue = Queue(jobs.QUEUE_NAME, connection=connection)
    queue.empty()  # type: ignore[no-untyped-call]
    ids = [queue.enqueue(jobs.send_verification, 999_999_999).id for _ in range(JOBS)]
    subprocess.run([sys.executable, "-m", "bench.jobs", "--work", mode], env=env, check=True)
    return _rate(queue, ids)


async def _migrate(url: str) -> None:
    conn = await asyncpg.connect(url)
    try:
        await migrate(conn)
    finally:
        await conn.close()


def main() -> int:
    if sys.argv[1:2] == ["--work"]:
        worker.run(Settings.from_env(), burst=True, forking=sys.argv[2] == "forking")
        return 0
    with tempfile.TemporaryDirectory(prefix="antri-bench-jobs-") as tmp:
        redis_server = RedisServer(Path(tmp) / "redis").start()
        postgres = EmbeddedPostgres(Path(tmp) / "postgres").start()
        try:
            asyncio.run(_migrate(postgres.url))
            env = {k: v for k, v in os.environ.items() if not k.startswith("ANTRI_")} | {
                "ANTRI_REDIS_URL": redis_server.url,
                "ANTRI_DATABASE_URL": postgres.url,
                "ANTRI_DATA_DIR": tmp,
            }
            connection = redis.Redis.from_url(redis_server.url)
            before = _measure("forking", env, connection)
            after = _measure("kept", env, connection)
        finally:
            postgres.stop()
            redis_server.stop()
    print(f"jobs per second, {JOBS} jobs: fork and pool per job {before:.1f}; "
          f"in process, one pool {after:.1f}; ratio {after / before:.1f}x")  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
