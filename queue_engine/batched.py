"""Script calls sent together: the calls a process makes in one step of its event loop go to Redis
in one pipeline, sent at the next step.

redis-py spends about 200 µs of CPU on each round trip (packing, the pool, a time-out per reply,
its futures) and much less on each further command of a pipeline: in a microbenchmark of 200
concurrent calls of a two-key script, about 190–260 µs a call alone, 140–170 in pipelines of 2 and
60–70 in pipelines of 5. Under load many requests reach the same step of the loop at once (their
HTTP requests were read together, their PostgreSQL commits came back together), so their calls
share a round trip; when nothing else is waiting a call goes alone, a step of the loop later.

On a single Redis only: a cluster's pipelines are split by node by redis-py anyway.
"""

from __future__ import annotations

import asyncio
from typing import Any

import redis.asyncio as aioredis
from redis.commands.core import AsyncScript
from redis.exceptions import NoScriptError

from .lean_script import LeanScript

#: a script of the client, called alone by itself (the lean one on the app's pool)
Script = AsyncScript | LeanScript

_Call = tuple[Script, list[Any], list[Any], "asyncio.Future[Any]"]


class ScriptBatch:
    """Batches the script calls of one Redis client."""

    def __init__(self, client: aioredis.Redis) -> None:
        self._client = client
        self._pending: list[_Call] = []
        #: the tasks sending a batch (kept: the loop holds tasks only weakly)
        self._sending: set[asyncio.Task[None]] = set()

    async def call(self, script: Script, keys: list[Any], args: list[Any]) -> Any:
        """`script` on `keys` and `args`, sent with the other calls of this step of the loop."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Any] = loop.create_future()
        if not self._pending:
            # The task's first step runs at the loop's next step, after every request that is
            # ready now has made its call.
            task = loop.create_task(self._send())
            self._sending.add(task)
            task.add_done_callback(self._sending.discard)
        self._pending.append((script, keys, args, future))
        return await future

    async def _send(self) -> None:
        batch, self._pending = self._pending, []
        try:
            if len(batch) == 1:
                script, keys, args, future = batch[0]
                _settle(future, await script(keys=keys, args=args))
                return
            pipe = self._client.pipeline(transaction=False)
            for script, keys, args, _ in batch:
                pipe.evalsha(script.sha, len(keys), *keys, *args)
            replies = await pipe.execute(raise_on_error=False)
            for (script, keys, args, future), reply in zip(batch, replies, strict=True):
                if isinstance(reply, NoScriptError):
                    # Redis lost its scripts (restarted, flushed): the plain call loads it.
                    reply = await script(keys=keys, args=args)
                _settle(future, reply)
        except Exception as exc:  # the connection failed, timed out…: every caller hears it
            for *_, future in batch:
                if not future.done():
                    future.set_exception(exc)
        finally:
            for *_, future in batch:
                if not future.done():  # cancelled while sending: so are the callers' waits
                    future.cancel()


def _settle(future: asyncio.Future[Any], reply: Any) -> None:
    """Give the caller its reply (a command's error is raised to it alone)."""
    if future.done():
        return  # the caller gave up (its request was cancelled)
    if isinstance(reply, Exception):
        future.set_exception(reply)
    else:
        future.set_result(reply)
