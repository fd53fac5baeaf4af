"""The engine's Lua scripts, loaded once per client and called only through typed wrappers."""

from __future__ import annotations

from importlib import resources
from typing import Any, NamedTuple

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from .batched import ScriptBatch
from .errors import StorageUnavailable
from .keys import RoomKeys
from .lean_script import LeanScript, lean_pool

RedisClient = aioredis.Redis | aioredis.RedisCluster


class JoinEntry(NamedTuple):
    """Who asks to join: the verified challenge they solved (if any) and their address."""

    #: the id of the verified challenge presented ('' for none)
    challenge_id: str = ""
    #: its difficulty, or -1 when none was presented
    difficulty: int = -1
    #: how long the challenge's single-use key must live (until the challenge expires)
    challenge_ttl_ms: int = 1000
    #: the client's address key (an IPv4 address or an IPv6 /64)
    client: str = "unknown"


#: a join that shows no proof, from an unknown address
ANONYMOUS = JoinEntry()


def script_source(name: str) -> str:
    """The full text of script `name`: the shared helpers, then the script itself."""
    lua = resources.files(__package__).joinpath("lua")
    return lua.joinpath("_lib.lua").read_text() + "\n" + lua.joinpath(f"{name}.lua").read_text()


class Scripts:
    """The registered scripts of one Redis client."""

    def __init__(self, client: RedisClient) -> None:
        pool = lean_pool(client)

        def register(name: str) -> Any:
            # On the app's lean pool, without redis-py's command path (queue_engine/lean_script.py)
            if pool is not None and isinstance(client, aioredis.Redis):
                return LeanScript(client, pool, script_source(name))
            return client.register_script(script_source(name))

        self._join = register("join")
        self._tick = register("tick")
        self._claim = register("claim")
        self._configure = register("configure")
        # The gate's and the turn's calls, made by every booking, share round trips under load.
        self._batch = ScriptBatch(client) if isinstance(client, aioredis.Redis) else None
        self._hold = register("hold")
        self._finish = register("finish")

    async def join(
        self, keys: RoomKeys, entry: JoinEntry = ANONYMOUS, seen: tuple[int, str] = (0, "")
    ) -> tuple[str, int, str]:
        """Take the next number, above `seen` (the highest number the caller has seen, and its
        epoch): (verdict, number, epoch); see join.lua for the verdicts."""
        # Only the three keys the script touches, not the room's whole key list.
        own = [keys.room, keys.challenge(entry.challenge_id), keys.client(entry.client)]
        args = [entry.difficulty, entry.challenge_ttl_ms, seen[0], seen[1]]
        verdict, number, epoch = await _run(self._join, keys, args, own_keys=own)
        return verdict, int(number), epoch

    async def tick(self, keys: RoomKeys, schedule_ahead_ms: int) -> dict[str, str]:
        """Advance the line (unless claims are scheduled more than `schedule_ahead_ms` ahead)
        and return the room's fields and counters ({} if no such room)."""
        flat = await _run(self._tick, keys, [schedule_ahead_ms])
        return dict(zip(flat[::2], flat[1::2], strict=True))

    async def claim(self, keys: RoomKeys, epoch: str, position: int) -> tuple[str, int, int]:
        """Claim the offered place `position`: (verdict, expires_ms, admitted_ms); a session
        'scheduled' starts at admitted_ms."""
        verdict, expires, admitted = await _run(self._claim, keys, [epoch, position])
        return verdict, int(expires), int(admitted)

    async def configure(
        self, keys: RoomKeys, fields: dict[str, str], *, create: bool, new_seed: str = ""
    ) -> tuple[dict[str, str], int] | None:
        """Create the room (missing fields only) or update it: None if updating a missing room,
        else the updated fields' previous values and the room's change number ({} and 0 after a
        create)."""
        args: list[str] = ["create" if create else "update", new_seed]
        for name, value in fields.items():
            args += [name, value]
        result = await _run(self._configure, keys, args)
        if result == 0:
            return None
        if not isinstance(result, list):
            return {}, 0
        flat = [str(item) for item in result]
        previous = dict(zip(flat[::2], flat[1::2], strict=True))
        return previous, int(previous.pop("#"))

    async def hold(
        self,
        keys: RoomKeys,
        epoch: str,
        token_id: str,
        *,
        login_key: str | None = None,
        account: str = "",
        bind: bool,
    ) -> tuple[int, str, str, str, int]:
        """Admission `token_id`'s session end, owner, the account (read from `login_key`, else
        `account`), and, with `bind`, the binding of a live unbound admission to that account:
        (expires_ms, owner, account, verdict, until_ms); see hold.lua."""
        own_keys = [
            keys.room,
            keys.sessions,
            keys.owner(epoch, token_id),
            keys.turns,
            keys.turn_counts,
        ]
        if login_key is not None:
            own_keys.append(login_key)
        args = [token_id, "1" if bind else "0", account]
        expires, owner, found, verdict, until = await _run(
            self._hold, keys, args, own_keys=own_keys, batch=self._batch
        )
        return int(expires), owner, found, verdict, int(until)

    async def finish(
        self, keys: RoomKeys, epoch: str, token_id: str, account: str, mark: str, keep_ms: int
    ) -> None:
        """End admission `token_id`'s turn, its work done by `account`; see finish.lua."""
        own_keys = [keys.sessions, keys.owner(epoch, token_id), keys.turns]
        args = [token_id, account, mark, keep_ms]
        await _run(self._finish, keys, args, own_keys=own_keys, batch=self._batch)


async def _run(
    script: Any,
    keys: RoomKeys,
    args: list[Any],
    own_keys: list[str] | None = None,
    batch: ScriptBatch | None = None,
) -> Any:
    """`script` on the room's keys, or on `own_keys` alone; sent
    with other calls of the same step of the event loop if `batch` is given."""
    try:
        keys_given = keys.all() if own_keys is None else own_keys
        if batch is not None:
            result = await batch.call(script, keys_given, args)
        else:
            result = await script(keys=keys_given, args=args)
    except RedisError as exc:
        raise StorageUnavailable(str(exc)) from exc
    # Scripts return flat lists; decode here so the engine works with any client setting.
    if isinstance(result, list):
        return [v.decode() if isinstance(v, bytes) else v for v in result]
    return result
