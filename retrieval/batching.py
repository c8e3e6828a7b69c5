"""Dynamic batching of concurrent requests: what arrives while a batch runs is answered by the next one.

Concurrent searches each pay for a query encoding, an FDE search and a re-rank; run together they
share one encoder forward pass, one FAISS search over all their FDEs and one widening of their
candidates' token vectors. :class:`MicroBatcher` gives that to callers that arrive one at a time
(the HTTP routes, each in its own thread), the way Text Generation Inference or Ray Serve's
``@serve.batch`` queue requests: a caller submits one item under a key and blocks; a worker thread
takes the oldest waiting item with every other waiting item of the same key (at most ``max_batch``),
runs them as one call and hands each caller its own result or the batch's exception. Nothing waits
for company: a lone request runs at once, so batching costs one hand-off between threads at one
client and only forms batches when requests queue anyway.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable, Sequence
from concurrent.futures import Future
from typing import Generic, TypeVar

__all__ = ["MicroBatcher"]

K = TypeVar("K", bound=Hashable)
Item = TypeVar("Item")
Out = TypeVar("Out")


class MicroBatcher(Generic[K, Item, Out]):
    """Runs ``run(key, items) -> results`` (one result per item, in order) over items submitted
    concurrently under the same key, in ``workers`` daemon threads started on first use."""

    def __init__(self, run: Callable[[K, Sequence[Item]], Sequence[Out]], *, max_batch: int = 16, workers: int = 1,
                 name: str = "batcher") -> None:
        if max_batch < 1 or workers < 1:
            raise ValueError(f"max_batch and workers must be >= 1, got {max_batch} and {workers}")
        self.run, self.max_batch, self.workers, self.name = run, max_batch, workers, name
        self._waiting: list[tuple[K, Item, Future[Out]]] = []
        self._ready = threading.Condition()
        self._threads: list[threading.Thread] = []
        self.batches = 0  # batches run, and the items they held: a mean batch size for benches and tests
        self.items = 0

    def submit(self, key: K, item: Item) -> Out:
        """``item``'s result, computed in a batch with the other items of ``key`` waiting meanwhile."""
        future: Future[Out] = Future()
        with self._ready:
            if not self._threads:
                self._start()
            self._waiting.append((key, item, future))
            self._ready.notify()
        return future.result()

    def _start(self) -> None:
        for i in range(self.workers):
            thread = threading.Thread(target=self._serve, name=f"{self.name}-{i}", daemon=True)
            thread.start()
            self._threads.append(thread)

    def _take(self) -> tuple[K, list[tuple[Item, Future[Out]]]]:
        """The oldest waiting item's key and up to ``max_batch`` waiting items of that key, oldest first."""
        with self._ready:
            while not self._waiting:
                self._ready.wait()
            key = self._waiting[0][0]
            batch, rest = [], []
            for entry in self._waiting:
                (batch if entry[0] == key and len(batch) < self.max_batch else rest).append(entry)
            self._waiting = rest
            self.batches += 1
            self.items += len(batch)
        return key, [(item, future) for _, item, future in batch]

    def _serve(self) -> None:
        while True:
            key, batch = self._take()
            try:
                results = self.run(key, [item for item, _ in batch])
                if len(results) != len(batch):
                    raise RuntimeError(f"{self.name}: {len(results)} results for {len(batch)} items")
            except BaseException as err:  # noqa: BLE001 (every caller of the batch gets the error; the worker lives on)
                for _, future in batch:
                    future.set_exception(err)
                continue
            for (_, future), result in zip(batch, results):
                future.set_result(result)
