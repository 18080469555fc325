"""A book's evening: book a session for every strategy of the book, in one transaction.

For session t (the session after the last one booked, or the book's day 0):

1. the data as known at t's close (quant.data.asof: rows up to t, then the next session
   without bars) and the window from the book's day 0 to that next session;
2. each strategy prepares its plan on it (the walk-forward source reads the book's models,
   training a block's on the evening of its "now": :class:`BookModels`) and runs the
   session from its account's state at the previous close (quant.engine.session): the
   orders of t-1 are booked against t's bars, then the strategy decides at t's close;
3. everything is written in one transaction (quant.live.book): accounts and their state,
   positions, fills, refusals, events, the orders for the next session with their reasons
   and what may stop them (quant.live.orders), the rows the signal tables gained at t, the
   models used, and the session with a fingerprint of its bars;
4. then ``orders-NEXT.csv`` is written from the committed rows.

The points where an evening can be cut off are named (:func:`fault_point`): the tests
kill the process there (``QUANT_LIVE_FAULT=<point>``) and at timed moments, and find the
book as it was before the evening or after it.
"""

from __future__ import annotations

import hashlib
import os
import signal
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from quant.data.asof import as_of, next_session
from quant.data.panel import MarketPanel
from quant.engine.config import BacktestConfig
from quant.engine.feeds import align
from quant.engine.params import StrategyParams
from quant.engine.runner import load_corporate_actions
from quant.engine.session import SessionRun, run_session
from quant.engine.state import AccountState
from quant.engine.strategy import AShareStrategy, Context
from quant.engine.window import RunWindow
from quant.live.book import Book, BookError, day, now, parquet_bytes, sha256, write_rows
from quant.live.orders import COLUMNS, order_rows, write_orders
from quant.signals.models import FolderModels

#: The environment variable naming a point at which an evening kills its own process (for
#: the tests of what a kill leaves).
FAULT = "QUANT_LIVE_FAULT"


def fault_point(name: str) -> None:
    """Where an evening may be cut off: the process kills itself here (SIGKILL, nothing
    cleaned up) when ``QUANT_LIVE_FAULT`` names this point."""
    if os.environ.get(FAULT) == name:
        os.kill(os.getpid(), signal.SIGKILL)


@dataclass(frozen=True)
class Strategy:
    """A strategy of the book: its spec, name, class and parameters."""

    spec: str
    name: str
    cls: type[AShareStrategy]
    params: StrategyParams


@dataclass(frozen=True)
class Setup:
    """What every evening of a book reads: its config (``end`` unused), its strategies,
    the first session with a return (``start``) and the folder of its orders files."""

    config: BacktestConfig
    strategies: list[Strategy]
    start: pd.Timestamp
    folder: Path

    def day_0(self, panel: MarketPanel) -> int:
        """The row of day 0 (the last session before ``start``); BookError when the data
        holds no session before it, or when ``start`` lies beyond the session after the
        data's last (day 0 would be a session the data does not hold yet)."""
        row = int(np.searchsorted(panel.dates.to_numpy(), self.start.to_datetime64())) - 1
        if row < 0:
            raise BookError(
                f"{self.folder}: the data starts on {panel.dates[0].date()}, not before the "
                f"book's start {self.start.date()}: day 0 (the session before it) needs bars"
            )
        if row == len(panel.dates) - 1 and self.start > next_session(panel, row):
            raise BookError(
                f"{self.folder}: the book starts on {self.start.date()}, and the data ends "
                f"on {panel.dates[-1].date()}: its day 0, the session before the start, is "
                "not in the data yet (quant data update brings it; or start the book earlier)"
            )
        return row


@dataclass
class Evening:
    """One booked session: its date, the next session (whose orders were written to
    ``orders_path``), each strategy's run and the models trained that evening."""

    session: pd.Timestamp
    following: pd.Timestamp
    runs: dict[str, SessionRun]
    orders_path: Path
    trained: list[str] = field(default_factory=list)


class BookModels:
    """The walk-forward models of a book's evening (quant.signals.models.ModelStore): the
    book's own, then the signal cache's (a backtest's, by the same key); a model found in
    the cache or trained is kept in the book in the evening's transaction, and a trained
    one in the cache too (a later backtest finds it). ``used``: the keys each strategy
    read, by strategy."""

    def __init__(self, book: Book, cache: FolderModels) -> None:
        self.book, self.cache = book, cache
        self.strategy = ""
        self.used: dict[str, set[str]] = {}
        self.new: dict[str, tuple[bytes, dict]] = {}
        self.trained: list[str] = []

    def known(self, identity: str) -> str | None:
        staged = [key for key, (_, meta) in self.new.items() if meta["identity"] == identity]
        return staged[0] if staged else self.book.model_of(identity)

    def load(self, key: str, meta: dict) -> bytes | None:
        data = self.book.model(key)
        if data is None and key in self.new:
            data = self.new[key][0]
        if data is None:
            data = self.cache.load(key, meta)
            if data is not None:
                self.new[key] = (data, meta)
        if data is not None:
            self.used.setdefault(self.strategy, set()).add(key)
        return data

    def save(self, key: str, data: bytes, meta: dict) -> None:
        self.new[key] = (data, meta)
        self.trained.append(f"{meta['slot']} {meta['block']}")
        self.used.setdefault(self.strategy, set()).add(key)
        self.cache.save(key, data, meta)


def book_session(
    book: Book, setup: Setup, panel: MarketPanel, index_panel: MarketPanel, session: pd.Timestamp
) -> Evening:
    """Book ``session`` for every strategy of the book (see the module) and write the
    orders file of the next session. BookError when it is booked already, when it is not
    the session after the last one booked, or when the data holds no bar that day."""
    row = panel.dates.get_loc(session)
    first = setup.day_0(panel)
    last = book.last_session()
    if book.booked(day(session)):
        raise BookError(f"{book.folder}: {day(session)} is booked already")
    expected = first if last is None else row_of(panel, last, book) + 1
    if row != expected:
        raise BookError(
            f"{book.folder}: the next session to book is {day(panel.dates[expected])}, not "
            f"{day(session)} (sessions are booked in order, each once)"
        )
    if not panel.has_bar[row].any():
        raise BookError(
            f"{book.folder}: the data holds no bar on {day(session)}, a session of the exchange "
            "(a hole in the data): update the store before booking it"
        )
    fault_point("start")
    known = as_of(panel, session)
    following = known.dates[-1]
    config = setup.config.replace({"end": day(following)})
    window = RunWindow(
        (setup.start, following), known.dates[first : row + 2], slice(first, row + 2)
    )
    index_known = align(index_panel, known.calendar)
    models = BookModels(book, FolderModels(Path(config.cache_dir) / "signals" / "models"))
    actions = load_corporate_actions(config, known)
    runs: dict[str, SessionRun] = {}
    for strategy in setup.strategies:
        context = Context(
            known, index_known, config, window, Path(config.cache_dir), config.seed,
            actions=actions, models=models,
        )  # fmt: skip
        state = None if last is None else AccountState.from_json(book.state(last, strategy.name))
        models.strategy = strategy.name
        runs[strategy.name] = run_session(
            strategy.cls, strategy.name, strategy.params, context, state
        )
    orders = _orders(runs, known, row, config.rules.lot_override)
    fault_point("computed")
    _write(book, session, following, known, runs, orders, models)
    fault_point("committed")
    path = write_orders(book.folder, day(following), orders)
    return Evening(session, following, runs, path, list(models.trained))


def row_of(panel: MarketPanel, session: str, book: Book) -> int:
    found = panel.dates.get_indexer([pd.Timestamp(session)])[0]
    if found < 0:
        raise BookError(
            f"{book.folder}: the last session booked, {session}, is not a session of the data "
            f"({day(panel.dates[0])} .. {day(panel.dates[-1])}): is this the book's data?"
        )
    return int(found)


def _orders(
    runs: dict[str, SessionRun], panel: MarketPanel, row: int, lot: int | None
) -> pd.DataFrame:
    rows = [
        {"strategy": name, **order}
        for name, run in runs.items()
        for order in order_rows(run, panel, row, lot)
    ]
    return pd.DataFrame(rows, columns=COLUMNS)


def _write(
    book: Book,
    session: pd.Timestamp,
    following: pd.Timestamp,
    panel: MarketPanel,
    runs: dict[str, SessionRun],
    orders: pd.DataFrame,
    models: BookModels,
) -> None:
    """The evening's rows, in one transaction (quant.live.book)."""
    today = day(session)
    with book.evening() as db:
        for name, run in runs.items():
            db.execute(
                "INSERT INTO accounts VALUES (?, ?, ?, ?, ?)",
                (today, name, run.equity, run.cash, run.state.to_json()),
            )
            write_rows(db, "positions", today, name, _records(run.positions, tradable=int))
            write_rows(db, "fills", today, name, _numbered(run.fills.drop(columns="date")))
            write_rows(db, "refusals", today, name, _numbered(run.refusals.drop(columns="date")))
            write_rows(db, "events", today, name, _numbered(run.events.drop(columns="date")))
            fault_point("half-written")
            mine = orders[orders["strategy"] == name].drop(columns="strategy")
            write_rows(db, "orders", today, name, _numbered(mine))
            for table, rows in _signal_rows(run, session):
                data = parquet_bytes(rows)
                db.execute(
                    "INSERT INTO signals VALUES (?, ?, ?, ?, ?, ?)",
                    (today, name, table, len(rows), sha256(data), data),
                )
            db.executemany(
                "INSERT INTO model_use VALUES (?, ?, ?)",
                [(today, name, key) for key in sorted(models.used.get(name, ()))],
            )
        for key, (data, meta) in models.new.items():
            db.execute(
                "INSERT OR IGNORE INTO models VALUES (?, ?, ?, ?, ?, ?, ?)",
                (key, meta["identity"], meta["slot"], meta["block"], today, sha256(data), data),
            )
        db.execute(
            "INSERT INTO sessions VALUES (?, ?, ?, ?)",
            (today, day(following), data_fingerprint(panel, panel.dates.get_loc(session)), now()),
        )
        fault_point("written")


def _records(frame: pd.DataFrame, **types: Any) -> list[tuple]:
    frame = frame.astype(types) if types else frame
    return [tuple(_plain(v) for v in row) for row in frame.itertuples(index=False)]


def _numbered(frame: pd.DataFrame) -> list[tuple]:
    return [(k, *row) for k, row in enumerate(_records(frame))]


def _plain(value: Any) -> Any:
    """numpy scalars as Python's (sqlite3 stores those); NaN as NULL."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and value != value:
        return None
    return value


def _signal_rows(run: SessionRun, session: pd.Timestamp) -> Iterable[tuple[str, pd.DataFrame]]:
    """The rows of each of the plan's tables dated ``session`` (by their ``date`` or
    ``decision_date``): what the strategy's signals said that evening."""
    for name, table in run.plan.tables.items():
        for column in ("date", "decision_date"):
            if column in table.columns:
                rows = table[table[column] == session]
                if len(rows):
                    yield name, rows.reset_index(drop=True)
                break


def data_fingerprint(panel: MarketPanel, row: int) -> str:
    """Hash of a session's bars: the codes with a bar and their raw prices, volume, amount
    and adjustment factor (``quant live status`` tells a session whose data changed since
    it was booked)."""
    cols = np.flatnonzero(panel.has_bar[row])
    digest = hashlib.blake2b(digest_size=16)
    digest.update("\0".join(panel.codes[cols]).encode())
    for name in ("open", "high", "low", "close", "volume", "amount", "adj_factor"):
        digest.update(np.ascontiguousarray(getattr(panel, name)[row, cols]).tobytes())
    return digest.hexdigest()
