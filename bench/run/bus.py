"""Bounded fan-out of frames to subscribers that may be slow (the UI, telemetry).

A subscriber gets its own small queue; when it falls behind, the oldest frames are dropped
and counted, so acquisition never waits on a reader. The run store does not subscribe here: it
is fed directly and never drops a frame.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Generic, TypeVar

T = TypeVar("T")


@dataclass
class Subscription(Generic[T]):
    name: str
    queue: asyncio.Queue[T]
    dropped: int = 0

    async def get(self) -> T:
        return await self.queue.get()

    def latest(self) -> T | None:
        """Drain the queue and keep only the newest item: how a display coalesces frames."""
        item = None
        while not self.queue.empty():
            item = self.queue.get_nowait()
        return item


@dataclass
class Bus(Generic[T]):
    subscriptions: list[Subscription[T]] = field(default_factory=list)

    def subscribe(self, name: str, maxsize: int = 64) -> Subscription[T]:
        sub: Subscription[T] = Subscription(name, asyncio.Queue(maxsize=maxsize))
        self.subscriptions.append(sub)
        return sub

    def unsubscribe(self, sub: Subscription[T]) -> None:
        if sub in self.subscriptions:
            self.subscriptions.remove(sub)

    def publish(self, item: T) -> None:
        for sub in self.subscriptions:
            if sub.queue.full():
                sub.queue.get_nowait()
                sub.dropped += 1
            sub.queue.put_nowait(item)
