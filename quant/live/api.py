"""The paper book's three steps, for the command line (``quant live init|next|status``)
and for Python (``quant.live.init``, ``quant.live.next``, ``quant.live.status``)."""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from quant import progress
from quant.data.panel import MarketPanel
from quant.engine.config import BacktestConfig, ConfigError
from quant.engine.params import read_params
from quant.engine.runner import load_panels, plan_runs
from quant.engine.strategy import AShareStrategy
from quant.live.book import Book, day, now
from quant.live.evening import Evening, Setup, Strategy, book_session, row_of
from quant.live.orders import orders_file, write_orders
from quant.live.status import Status, book_status
from quant.settings import read_toml

#: Config settings that name files: made absolute when a book is started, so that its
#: evenings read the same files from wherever they are run.
PATHS = ("data", "index_data", "cache_dir", "code_changes", "corporate_actions")


def init(config: BacktestConfig | str | Path, book: str | Path, start: str | None = None) -> Path:
    """Start a book in the folder ``book`` (new, or empty): the config's strategies with
    their parameters, rules, cash, data and seed (its ``end`` is not used: a book goes on),
    from ``start`` (default: the config's ``start``; day 0 is the session before it; a
    config file with neither is refused). Every setting is checked first (ConfigError
    naming the key); strategies must be platform strategies (AShareStrategy) defined in a
    module or file, one seed. Returns the folder. Nothing is booked yet: ``next`` books
    day 0's evening and the sessions after it."""
    if isinstance(config, BacktestConfig):
        values, source = config.to_dict(), "config"
    else:
        values, _ = read_toml(config, ConfigError)
        source = str(config)
    if start is not None:
        values["start"] = start
    if "start" not in values:  # the backtest's default (2014) would book years of history
        raise ConfigError(
            f'{source}: no start: a book needs its first session (start = "YYYY-MM-DD" '
            "in the config, or --start)"
        )
    try:
        pd.Timestamp(values["start"])
    except (TypeError, ValueError):
        where = "--start" if start is not None else f"{source}: start"
        raise ConfigError(f"{where} {values['start']!r}: not a date (YYYY-MM-DD)") from None
    values["end"] = values["start"]  # a book goes on: its evenings set their own end
    values["workers"] = 1
    config = BacktestConfig.from_dict(values, source)
    config = config.replace(
        {key: _absolute(getattr(config, key)) for key in PATHS if getattr(config, key)}
    )
    strategies = _strategies(config)
    if len(config.seed_list) > 1:
        raise ConfigError(
            f"seeds {config.seeds}: a book follows one seed; set seed = N (and no seeds)"
        )
    for strategy in strategies:
        _check_followable(strategy)
    folder = Path(book)
    meta = {"config": json.dumps(config.to_dict()), "start": config.start, "created": now()}
    Book.create(folder, meta).close()
    return folder


def next(
    book: str | Path,
    until: str | None = None,
    *,
    panel: MarketPanel | None = None,
    index_panel: MarketPanel | None = None,
) -> list[Evening]:
    """Book every session of the data after the last one booked (from day 0 for a new
    book), up to ``until`` if given, in order, each in its own transaction, and write the
    orders file of the session after each (quant.live.evening). ``panel`` and
    ``index_panel``: data already loaded (default: the book's config's). Returns the
    evenings booked (none when the book is up to date: the reason is logged). BookError
    when the book is busy (another ``next`` writing to it) or does not match the data."""
    with Book.open(book) as opened, opened.lock("quant live next"):
        setup = _setup(opened)
        restore_orders_file(opened)
        panel, index_panel = load_panels(setup.config, panel, index_panel)
        first = setup.day_0(panel)
        last = opened.last_session()
        start = first if last is None else row_of(panel, last, opened) + 1
        stop = len(panel.dates) if until is None else _until(panel, until)
        sessions = panel.dates[start:stop]
        if not len(sessions):
            print(_up_to_date(opened, panel, last, until, first), file=sys.stderr)
            return []
        evenings = []
        with progress.task("live"), progress.step("book", len(sessions), "session") as step:
            for session in sessions:
                evenings.append(book_session(opened, setup, panel, index_panel, session))
                step.advance(note=day(session))
        return evenings


def status(
    book: str | Path,
    *,
    compare: bool = True,
    panel: MarketPanel | None = None,
    index_panel: MarketPanel | None = None,
) -> Status:
    """Where the book stands (quant.live.status): positions, cash, pending orders, net
    value against the benchmark and, with ``compare``, against a backtest of the same
    sessions on the data as it is now, with every day that differs and why."""
    with Book.open(book) as opened:
        setup = _setup(opened)
        if compare:
            panel, index_panel = load_panels(setup.config, panel, index_panel)
        elif index_panel is None:
            from quant.data import load_panel

            index_panel = load_panel(
                setup.config.index_data, kind="index", calendar=setup.config.calendar
            )
        return book_status(opened, setup, panel, index_panel, compare)


def restore_orders_file(book: Book) -> Path | None:
    """Write the orders file of the last session booked again if it is missing (an
    evening killed between its commit and the file): the rows are in the book."""
    last = book.last_session()
    if last is None:
        return None
    following = book.sessions()["next_session"].iloc[-1]
    path = orders_file(book.folder, following)
    if not path.exists():
        orders = book.table("orders", last).drop(columns=["session", "seq"])
        write_orders(book.folder, following, orders)
    return path


@dataclass(frozen=True)
class _Found:
    spec: str
    name: str
    cls: type


def _strategies(config: BacktestConfig) -> list[_Found]:
    runs = plan_runs(config)
    return [
        _Found(spec, name, cls)
        for spec, name, cls in zip(config.strategies, runs.names, runs.classes)
    ]


def _check_followable(strategy: _Found) -> None:
    if not issubclass(strategy.cls, AShareStrategy):
        raise ConfigError(
            f"strategy {strategy.name}: a backtrader strategy as written keeps its state in "
            "its indicators' lines over the whole window, which a book run one session at a "
            "time cannot carry; follow a platform strategy (quant.AShareStrategy) instead"
        )
    if strategy.spec.startswith("__main__:"):
        raise ConfigError(
            f"strategy {strategy.name}: defined in a notebook or a script ({strategy.spec}); a "
            "book runs again every evening, in other processes: define it in a module or a "
            "file (module:Class, path/to/file.py:Class)"
        )


def _setup(book: Book) -> Setup:
    config = BacktestConfig.from_dict(json.loads(book.meta("config")), f"{book.folder} config")
    strategies = [
        Strategy(f.spec, f.name, f.cls, read_params(f.cls, f.name, config.params.get(f.name, {})))
        for f in _strategies(config)
    ]
    return Setup(config, strategies, pd.Timestamp(book.meta("start")), book.folder)


def _absolute(value: str) -> str:
    if value == "sample":
        return value
    return str(Path(value).expanduser().resolve())


def _until(panel: MarketPanel, until: str) -> int:
    try:
        date = pd.Timestamp(until)
    except ValueError:
        raise ConfigError(f"--until {until!r}: not a date (YYYY-MM-DD)") from None
    return int(panel.dates.searchsorted(date, side="right"))


def _up_to_date(
    book: Book, panel: MarketPanel, last: str | None, until: str | None, first: int
) -> str:
    end = day(panel.dates[-1])
    if until is not None and pd.Timestamp(until) < panel.dates[-1]:
        booked = f"the last booked is {last}" if last else f"day 0 is {day(panel.dates[first])}"
        return f"{book.folder}: nothing to book up to --until {until}: {booked}"
    if last is None:
        return f"{book.folder}: nothing to book: the data ends at {end}, before the book's day 0"
    return (
        f"{book.folder}: nothing to book: every session of the data is booked (the last, {last}; "
        f"the data ends at {end}). Bring the data up to date with quant data update"
    )
