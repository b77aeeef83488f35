"""The background thread a serve runtime's loop runs in (the outbox dispatcher's, the live
network's): started once, stopped by setting an event and waking it from its wait."""

from __future__ import annotations

import threading
from collections.abc import Callable

__all__ = ["BackgroundThread"]


class BackgroundThread:
    """A daemon thread named `name`, running a loop that checks `stopping` and waits in
    :meth:`pause`; `wake` cuts the wait short (new work, or a stop)."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.wake = threading.Event()
        self.stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self, loop: Callable[..., None], *args: object) -> None:
        """Run `loop(*args)` in the thread, unless it already runs."""
        if self._thread is None:
            self.stopping.clear()
            self._thread = threading.Thread(target=loop, args=args, name=self.name, daemon=True)
            self._thread.start()

    def pause(self, seconds: float) -> None:
        """Wait up to `seconds`, less when woken."""
        self.wake.wait(seconds)
        self.wake.clear()

    def stop(self, timeout: float) -> None:
        """Ask the loop to stop, wake it, and wait up to `timeout` for the thread to end."""
        self.stopping.set()
        self.wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None
