"""The rooms of one process, kept fresh by a background refresher."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from .errors import StorageUnavailable, UnknownRoom
from .metrics import EngineMetrics
from .room import Room, RoomView
from .scripts import RedisClient, Scripts
from .settings import EngineSettings, RoomSettings
from .tokens import Signer

log = logging.getLogger(__name__)


class Engine:
    """Holds the rooms this process serves and refreshes their views on a short cadence."""

    def __init__(
        self,
        client: RedisClient,
        signer: Signer,
        settings: EngineSettings,
        metrics: EngineMetrics | None = None,
    ) -> None:
        self.client = client
        self.signer = signer
        self.settings = settings
        self.metrics = metrics
        self.scripts = Scripts(client)
        self._rooms: dict[str, Room] = {}
        self._defaults: dict[str, RoomSettings] = {}
        self._task: asyncio.Task[None] | None = None
        self._stopping = asyncio.Event()

    def room(self, name: str) -> Room:
        """The room called `name`; raises UnknownRoom."""
        try:
            return self._rooms[name]
        except KeyError:
            raise UnknownRoom(name) from None

    @property
    def rooms(self) -> list[Room]:
        """Every room this process serves."""
        return list(self._rooms.values())

    async def add_room(self, name: str, defaults: RoomSettings) -> Room:
        """Serve room `name`, creating it in Redis with `defaults` if it does not exist yet."""
        room = Room(name, self.client, self.scripts, self.signer, self.settings, self.metrics)
        self._rooms[name] = room
        self._defaults[name] = defaults
        try:
            await room.create(defaults)
            await room.refresh()
        except StorageUnavailable:
            log.warning("room %s: Redis unreachable at start; will keep trying", name)
        return room

    async def refresh_all(self) -> None:
        """One refresh of every room; a failing room is counted and left to fail closed."""
        for room in self.rooms:
            try:
                view = await room.refresh()
            except StorageUnavailable as exc:
                log.debug("room %s: refresh failed: %s", room.name, exc)
                if self.metrics:
                    self.metrics.redis_errors.labels(room.name, "refresh").inc()
            except UnknownRoom:
                # Missing from Redis (flushed, or a restart without persistence): create it
                # again so that the service heals by itself.
                with contextlib.suppress(StorageUnavailable):
                    await room.create(self._defaults[room.name])
            else:
                self._observe(room.name, view)

    def _observe(self, name: str, view: RoomView) -> None:
        if self.metrics is None:
            return
        m = self.metrics
        m.waiting.labels(name).set(view.waiting)
        m.active.labels(name).set(view.active)
        m.noshow.labels(name).set(view.noshow)
        m.rate.labels(name).set(round(view.offer_rate * 60, 3))
        m.eta_last.labels(name).set(view.eta(view.waiting)[1] if view.waiting else 0)
        if view.advanced:
            m.offered.labels(name).inc(view.advanced)
        m.limits.observe(name, view)

    async def start(self) -> None:
        """Start the background refresher."""
        if self._task is None:
            self._stopping = asyncio.Event()
            self._task = asyncio.create_task(self._refresh_forever(), name="antri-refresher")

    async def stop(self) -> None:
        """Stop the background refresher after its current refresh."""
        if self._task is not None:
            # An event, not cancel(): a cancellation landing inside a Redis call can be turned
            # into a connection error by the driver and lost, leaving the loop running.
            self._stopping.set()
            await self._task
            self._task = None

    async def _refresh_forever(self) -> None:
        while not self._stopping.is_set():
            await self.refresh_all()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), self.settings.refresh_interval)
