"""A Rich progress display with one bar per stage of a long run (demo, simulate)."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

Tick = Callable[[str, int, int], None]


@contextmanager
def stage_progress(console: Console, stages: Sequence[str]) -> Iterator[Tick]:
    """Yield `tick(stage, done, total)`; each stage's clock runs from its first tick to done."""
    with Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=False,
    ) as bar:
        tasks = {s: bar.add_task(s, total=None, start=False) for s in stages}

        def tick(stage: str, done: int, total: int) -> None:
            task = tasks[stage]
            if not bar.tasks[task].started:
                bar.start_task(task)
            bar.update(task, completed=done, total=total)
            if done >= total:
                bar.stop_task(task)

        yield tick
