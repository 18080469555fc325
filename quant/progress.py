"""Progress of long steps (loading, features, each model's training, each backtest), from
whichever process runs them, shown on the terminal of the command that started them.

A long step reports through :func:`step`, inside the :func:`task` it belongs to::

    with progress.task("cnn_lstm", seed=1), progress.step("CNN 2014-01", 500, "epoch", upto=True) as s:
        for epoch in range(500):  # early stopping ends it long before
            ...
            s.advance(note="val_loss 0.69, best epoch 3")

A step whose total is only a cap (``upto``: training epochs under early stopping) shows the
work done (epochs run, the note's best so far) and the time elapsed, not a percentage of the
cap; every event carries the seconds since its step began.

Each report is an :class:`Event` handed to the process's sink (any callable): nothing is
reported while there is none. The ``quant`` command and quant.backtest install a
:class:`Display` (tqdm bars on a terminal, tqdm's notebook bars in Jupyter; with ``-v`` or
``progress=True`` and neither, a line at each tenth; otherwise nothing). A
worker process forwards its events to a queue (:func:`forward`) that a thread of the parent
hands to the parent's sink (:func:`relay`), so progress shows the same whatever the number
of workers; tasks of a sweep can feed the same sink by sending it their events.
"""

from __future__ import annotations

import queue
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, TextIO

from tqdm.auto import tqdm


@dataclass(frozen=True)
class Event:
    """How far one stage of one task has come: ``done`` of ``total`` ``unit``s;
    ``final`` when the stage ended (early stopping may end it before ``total``)."""

    task: str  # what the stage belongs to: "data", a strategy's name, "runs"
    stage: str  # "load", "features", "CNN 2014-01", "backtest", ...
    done: int
    total: int
    unit: str = ""
    seed: int | None = None
    final: bool = False
    note: str = ""  # e.g. the last epoch's losses and the best so far
    elapsed: float = 0.0  # seconds since the stage began
    upto: bool = False  # ``total`` is a cap the stage may stop short of (early stopping)

    @property
    def label(self) -> str:
        who = self.task if self.seed is None else f"{self.task} seed {self.seed}"
        return f"{who}: {self.stage}" if who else self.stage

    @property
    def percent(self) -> int:
        return _percent(self.done, self.total)


def _percent(done: int, total: int) -> int:
    return 100 if total <= 0 else int(100 * min(done, total) / total)


Sink = Callable[[Event], Any]
#: Seconds for the elapsed time of a step (a monotonic clock).
_clock = time.monotonic

_sink: Sink | None = None
_task: ContextVar[tuple[str, int | None]] = ContextVar("progress_task", default=("", None))


def active() -> bool:
    """Whether this process reports progress anywhere."""
    return _sink is not None


@contextmanager
def sink(receiver: Sink | None) -> Iterator[None]:
    """Send this process's events to ``receiver`` (None: nowhere) inside the block."""
    previous = _sink
    install(receiver)
    try:
        yield
    finally:
        install(previous)


def install(receiver: Sink | None) -> None:
    """Send this process's events to ``receiver`` from now on (a worker's start-up)."""
    global _sink
    _sink = receiver


@contextmanager
def task(name: str, seed: int | None = None) -> Iterator[None]:
    """Label the steps inside the block (in this thread) as parts of task ``name``."""
    token = _task.set((name, seed))
    try:
        yield
    finally:
        _task.reset(token)


class Step:
    """A stage under way; reports when its whole percent changes, and at the end."""

    def __init__(
        self, stage: str, total: int, unit: str, quiet: bool = False, upto: bool = False
    ) -> None:
        self.task, self.seed = _task.get()
        self.stage, self.total, self.unit = stage, total, unit
        self.quiet, self.upto = quiet, upto
        self.done = 0
        self.note = ""
        self._reported = -1
        self._started = _clock()

    def advance(self, count: int = 1, note: str = "") -> None:
        """``count`` more units done; a capped step (``upto``) reports each one, others
        each whole percent."""
        self.done += count
        self.note = note or self.note
        if self.upto or _percent(self.done, self.total) != self._reported:
            self._report(final=False)

    def _report(self, final: bool) -> None:
        if _sink is None or self.quiet:
            return
        self._reported = _percent(self.done, self.total)
        elapsed = _clock() - self._started
        _sink(
            Event(
                self.task, self.stage, self.done, self.total, self.unit, self.seed, final,
                self.note, elapsed, self.upto,
            )
        )  # fmt: skip


@contextmanager
def step(
    stage: str, total: int, unit: str = "", quiet: bool = False, upto: bool = False
) -> Iterator[Step]:
    """A stage of ``total`` units: 0 % when it starts, its progress as it goes, and a final
    report when the block ends (however it ends). ``quiet``: reports nothing (a step too
    small to be worth showing, e.g. one of a study's hundreds of tiny trainings);
    ``upto``: ``total`` is only a cap (early stopping may end the stage long before), so
    the work done is shown, not a share of the cap."""
    current = Step(stage, total, unit, quiet, upto)
    current._report(final=False)
    try:
        yield current
    finally:
        current._report(final=True)


# -- across processes ------------------------------------------------------------------------
def forward(events: Any) -> Sink:
    """A worker's sink: put each event on ``events`` (a multiprocessing queue)."""
    return events.put


@contextmanager
def relay(events: Any | None, poll_seconds: float = 0.1) -> Iterator[None]:
    """Inside the block, a thread hands every event that workers put on ``events`` to this
    process's sink; what is still queued when the block ends is handed on too."""
    if events is None:
        yield
        return
    receiver = _sink
    done = threading.Event()

    def drain(block: bool) -> None:
        while True:
            try:
                event = events.get(timeout=poll_seconds) if block else events.get_nowait()
            except queue.Empty:
                return
            if receiver is not None:
                receiver(event)

    def run() -> None:
        while not done.is_set():
            drain(block=True)

    thread = threading.Thread(target=run, name="progress-relay", daemon=True)
    thread.start()
    try:
        yield
    finally:
        done.set()
        thread.join()
        drain(block=False)


# -- on the terminal -------------------------------------------------------------------------
class Display:
    """Shows events on ``stream``: with ``bars``, a tqdm bar per running stage (closed when
    it ends); otherwise one line when a stage starts, at each tenth, and when it ends.
    Safe to call from several threads."""

    def __init__(self, bars: bool, stream: TextIO | None = None) -> None:
        self.bars = bars
        self.stream = stream or sys.stderr
        self._open: dict[tuple[str, int | None, str], Any] = {}
        self._lock = threading.Lock()

    def __call__(self, event: Event) -> None:
        with self._lock:
            if self.bars:
                self._bar(event)
            else:
                self._line(event)

    def _bar(self, event: Event) -> None:
        key = (event.task, event.seed, event.stage)
        bar = self._open.get(key)
        if bar is None:
            if event.final:
                return
            bar = tqdm(
                total=None if event.upto else event.total, desc=event.label,
                unit=event.unit or "it", leave=False, file=self.stream, dynamic_ncols=True,
            )  # fmt: skip
            self._open[key] = bar
        bar.n = event.done
        if event.note:
            bar.set_postfix_str(event.note, refresh=False)
        bar.refresh()
        if event.final:
            bar.close()
            del self._open[key]

    def _line(self, event: Event) -> None:
        key = (event.task, event.seed, event.stage)
        mark = event.done if event.upto else event.percent // 10  # capped: each unit
        if not event.final and self._open.get(key) == mark:
            return
        self._open[key] = mark
        if event.final:
            del self._open[key]
        unit = f" {event.unit}" if event.unit else ""
        if event.upto:
            state = "done" if event.final else "running"
            count = f"{event.done}{unit} run, at most {event.total}"
        else:
            state = "done" if event.final else f"{event.percent:3d} %"
            count = f"{event.done}/{event.total}{unit}"
        note = f"  {event.note}" if event.note else ""
        print(
            f"{event.label}: {state} ({count}, {_duration(event.elapsed)}){note}",
            file=self.stream,
            flush=True,
        )

    def close(self) -> None:
        with self._lock:
            for bar in self._open.values():
                if not isinstance(bar, int):
                    bar.close()
            self._open.clear()


def in_notebook() -> bool:
    """Whether this process is a Jupyter kernel, whose cells show tqdm's notebook bars
    (tqdm.auto picks them; with ipywidgets, else text bars)."""
    ipython = sys.modules.get("IPython")
    shell = ipython.get_ipython() if ipython is not None else None
    return shell is not None and "IPKernelApp" in shell.config


def _duration(seconds: float) -> str:
    """``42 s``, ``3 min 12 s``, ``1 h 05 min``."""
    whole = int(seconds)
    if whole < 60:
        return f"{seconds:.0f} s"
    if whole < 3600:
        return f"{whole // 60} min {whole % 60:02d} s"
    return f"{whole // 3600} h {whole % 3600 // 60:02d} min"


@contextmanager
def display(
    verbose: bool = False, stream: TextIO | None = None, quiet: bool = False
) -> Iterator[None]:
    """Show this process's progress (and its workers') inside the block: bars when
    ``stream`` (default stderr) is a terminal or this process is a notebook's kernel, lines
    when neither and ``verbose`` is set, nothing otherwise or when ``quiet``."""
    stream = stream or sys.stderr
    bars = bool(getattr(stream, "isatty", lambda: False)()) or in_notebook()
    if quiet or (not bars and not verbose):
        yield
        return
    shown = Display(bars=bars, stream=stream)
    try:
        with sink(shown):
            yield
    finally:
        shown.close()
