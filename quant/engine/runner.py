"""Run strategies inside backtrader: one cerebro (one broker, one cash account) per
strategy, fed only with the codes its plan names, recording the daily net value."""

from __future__ import annotations

import gc
import logging
import os
import pickle
import time
import warnings
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import backtrader as bt
import numpy as np
import pandas as pd

from quant import progress
from quant.data import DataWarning, MarketPanel, load_panel
from quant.data.actions import ActionTable, check_against, load_actions
from quant.data.notes import data_notes as panel_notes
from quant.engine.actions import ActionSchedule
from quant.engine.broker import SUSPECT_FACTOR_EVENT, AShareBroker
from quant.engine.bt_strategy import adapt
from quant.engine.config import BacktestConfig, ConfigError, Rules
from quant.engine.feeds import Market, align, make_market
from quant.engine.money import money, money_notes
from quant.engine.params import check_params_used, check_strategy_names, read_params
from quant.engine.plugins import builtins, load_strategy, strategy_name
from quant.engine.ranking import with_returns
from quant.engine.recorder import Recorder
from quant.engine.strategy import AShareStrategy, Context, Plan, StrategyError
from quant.engine.window import (
    RunWindow,
    check_covered,
    index_coverage,
    run_window,
    stock_coverage,
)
from quant.plugins import exits_as_errors
from quant.shared import Shared, shared
from quant.workers import run_in_workers

log = logging.getLogger(__name__)


@dataclass
class StrategyResult:
    """Everything one strategy's run produced. ``nav`` is 1.0 on day 0 (the last trading
    day before the start), valued at each day's close."""

    name: str
    nav: pd.Series
    cash: pd.Series
    equity: pd.Series
    fills: pd.DataFrame
    refusals: pd.DataFrame
    events: pd.DataFrame
    positions: pd.DataFrame
    info: dict[str, Any] = field(default_factory=dict)
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    feeds: int = 0
    prepare_seconds: float = 0.0  # signals (and any training) outside backtrader
    backtest_seconds: float = 0.0
    seed: int | None = None  # set for strategies run once per seed
    notes: list[str] = field(default_factory=list)  # what the reader must know of this run
    #: the calendar's sessions per year over the window (annualises volatility, Sharpe)
    sessions_per_year: float = 0.0

    @property
    def label(self) -> str:
        return self.name if self.seed is None else f"{self.name}@seed{self.seed}"

    @property
    def position_ratio(self) -> pd.Series:
        """Share of equity invested in stocks at each close."""
        return 1.0 - self.cash / self.equity


@dataclass(repr=False)
class BacktestResult:
    """Every strategy's result, the window they ran (the same for all) and the notes of
    the run (the data's, the clipping's and the strategies').

    Its frames: :attr:`nav` (net value per run, 1.0 on day 0), :attr:`metrics` (a row per
    strategy, after costs), :attr:`trades`, :attr:`positions`, :attr:`refusals` and
    :attr:`events` (each run's rows stacked, with ``strategy`` and ``seed`` columns).
    :meth:`write` writes the run folder ``quant backtest`` writes; in a notebook the result
    shows as the headline table with the plots (``_repr_html_``), in a terminal as the
    table ``quant backtest`` prints."""

    config: BacktestConfig
    strategies: list[StrategyResult]
    window: RunWindow
    notes: list[str] = field(default_factory=list)
    #: The fees, taxes and corporate actions the run applied and from which tables
    #: (quant.engine.money.money): metrics.json's ``money``.
    money: dict[str, Any] = field(default_factory=dict)

    def nav_frame(self) -> pd.DataFrame:
        """Net value per run: strategies run once per seed appear once per seed
        (``name@seedN``) and as ``name``, the mean of their seeds' net values."""
        columns: dict[str, pd.Series] = {}
        for name, runs in self.by_name().items():
            if len(runs) > 1 or runs[0].seed is not None:
                for run in runs:
                    columns[run.label] = run.nav
                columns[name] = pd.concat([run.nav for run in runs], axis=1).mean(axis=1)
            else:
                columns[name] = runs[0].nav
        return pd.DataFrame(columns)

    def by_name(self) -> dict[str, list[StrategyResult]]:
        groups: dict[str, list[StrategyResult]] = {}
        for result in self.strategies:
            groups.setdefault(result.name, []).append(result)
        return groups

    @property
    def nav(self) -> pd.DataFrame:
        """Net value per run at each close (:meth:`nav_frame`): dates x runs."""
        return self.nav_frame()

    @property
    def metrics(self) -> pd.DataFrame:
        """One row per strategy (a strategy run per seed: its seeds' mean), one column per
        figure of metrics.json: annualized_return and volatility (fractions per year),
        max_drawdown (a positive fraction), sharpe, total_return, calmar, turnover (per
        year), trades, costs and final_equity (yuan), average_position_ratio, ..."""
        from quant.report import group_metrics

        rows = {name: group_metrics(runs) for name, runs in self.by_name().items()}
        figures = {
            name: {k: v for k, v in row.items() if isinstance(v, (int, float)) or v is None}
            for name, row in rows.items()
        }
        return pd.DataFrame.from_dict(figures, orient="index").rename_axis("strategy")

    @property
    def trades(self) -> pd.DataFrame:
        """Every fill (date, code, side, size in shares, price and value in yuan, costs in
        yuan, note), with its ``strategy`` and ``seed``."""
        return self.table("fills")

    @property
    def positions(self) -> pd.DataFrame:
        """Every non-zero holding at each close (date, code, shares, close, value in yuan,
        tradable), with its ``strategy`` and ``seed``."""
        return self.table("positions")

    @property
    def refusals(self) -> pd.DataFrame:
        """Every order the A-share rules refused (date, code, side, size, reason), with its
        ``strategy`` and ``seed``."""
        return self.table("refusals")

    @property
    def events(self) -> pd.DataFrame:
        """Corporate actions and write-offs applied to positions (date, code, event, shares
        before and after, cash), with its ``strategy`` and ``seed``."""
        return self.table("events")

    def table(self, name: str) -> pd.DataFrame:
        """One of the runs' tables (``fills``, ``positions``, ``refusals``, ``events``), all
        runs stacked, with their ``strategy`` and ``seed``; ``strategy`` and a categorical
        ``code`` stay categorical (over the union of the runs' codes), so that millions of
        positions hold no Python string per row."""
        tables = [getattr(r, name) for r in self.strategies]
        names = sorted({r.name for r in self.strategies})
        coded = [
            t["code"].cat.categories
            for t in tables
            if "code" in t and isinstance(t["code"].dtype, pd.CategoricalDtype)
        ]
        codes = pd.Index(sorted(set().union(*coded))) if coded else None
        frames = []
        for run, frame in zip(self.strategies, tables):
            strategy = pd.Categorical.from_codes(np.full(len(frame), names.index(run.name)), names)
            frame = frame.assign(strategy=strategy, seed=run.seed)
            if codes is not None:  # an empty table's codes too, or concat falls back to objects
                frame["code"] = pd.Categorical(frame["code"], categories=codes)
            frames.append(frame)
        stacked = pd.concat(frames, ignore_index=True)
        return stacked.astype({"seed": "Int32"})

    def write(self, out: str | Path, force: bool = False) -> Path:
        """Write the run folder ``quant backtest --out OUT`` writes (config.toml,
        metrics.json, nav.csv, the tables, report.md, the plots) and return its path; an
        earlier run there is replaced only with ``force`` (quant.report.write_run)."""
        from quant.report import write_run

        return write_run(self, out, force)

    def figures(self) -> dict[str, Any]:
        """The run folder's plots (net value, drawdown, position ratio) as matplotlib
        figures, by file name."""
        from quant.report.plots import figures

        exposure = pd.DataFrame({r.label: r.position_ratio for r in self.strategies})
        return figures(self.nav, exposure)

    def __repr__(self) -> str:
        from quant.report.tables import TERMINAL

        return f"{self._title()}\n{self._table(TERMINAL).to_string()}"

    def _repr_html_(self) -> str:
        """The headline figures, the notes and the plots, for a notebook."""
        import base64
        import html
        import io

        from quant.report.tables import FIGURES

        parts = [f"<p><b>{html.escape(self._title())}</b></p>"]
        parts.append(self._table([key for key, _, _ in FIGURES]).to_html())
        if self.notes:
            items = "".join(f"<li>{html.escape(note)}</li>" for note in self.notes)
            parts.append(f"<p>Notes:</p><ul>{items}</ul>")
        for name, figure in self.figures().items():
            buffer = io.BytesIO()
            figure.savefig(buffer, format="png", dpi=72)
            data = base64.b64encode(buffer.getvalue()).decode("ascii")
            parts.append(f'<img alt="{name}" src="data:image/png;base64,{data}"/>')
        return "\n".join(parts)

    def _title(self) -> str:
        window = self.window.as_dict()
        return (
            f"Backtest {window['start']} .. {window['end']}, after costs: "
            f"{', '.join(self.by_name())}"
        )

    def _table(self, keys: Iterable[str]) -> pd.DataFrame:
        from quant.report import group_metrics
        from quant.report.tables import figures_table

        rows = {name: group_metrics(runs) for name, runs in self.by_name().items()}
        return figures_table(rows, list(keys))


def prepare_context(
    config: BacktestConfig,
    panel: MarketPanel | None = None,
    index_panel: MarketPanel | None = None,
    index_codes: Iterable[str] = (),
) -> Context:
    """Load the data named by the config (unless panels are given) and fix the window the
    run covers (quant.engine.window), checked against the stock data and the indices of
    ``index_codes`` (those the strategies hold: AShareStrategy.index_codes). ConfigError
    when they do not cover the window; under ``config.clip`` the window is cut to them,
    with a warning (DataWarning) saying so."""
    panel, index_panel = load_panels(config, panel, index_panel)
    index_panel = align(index_panel, panel.calendar)
    actions = load_corporate_actions(config, panel)
    inputs = [stock_coverage(panel, config.data)] + [
        index_coverage(index_panel, code, config.index_data) for code in dict.fromkeys(index_codes)
    ]
    window = run_window(panel.calendar, config.start_date, config.end_date, inputs, config.clip)
    if window.clipped:
        warnings.warn(window.clipped, DataWarning, stacklevel=2)
    return Context(panel, index_panel, config, window, Path(config.cache_dir), config.seed, actions)


def load_corporate_actions(config: BacktestConfig, panel: MarketPanel) -> ActionTable | None:
    """The config's corporate-actions table (None without one), checked against the stock
    data (quant.data.actions: its ex and record dates are sessions, each row's implied
    ratio the adj_factor's change). DataError naming the file, row, code and date at fault,
    or the rows whose ratio differs."""
    if not config.corporate_actions:
        return None
    with progress.task("data"), progress.step("corporate actions", 1, "file") as loaded:
        table = load_actions(config.corporate_actions)
        check = check_against(table, panel)
        check.refuse_mismatches(table.source)
        found = check.notes(table.source)
        loaded.advance()
    return replace(table, notes=(*table.notes, *found))


def load_panels(
    config: BacktestConfig,
    panel: MarketPanel | None = None,
    index_panel: MarketPanel | None = None,
) -> tuple[MarketPanel, MarketPanel]:
    """The stock and index panels of the config's data settings (those given are kept)."""
    with progress.task("data"), progress.step("load", 2, "file") as loaded:
        if panel is None:
            panel = load_panel(
                config.data,
                calendar=config.calendar,
                code_changes=config.code_changes or None,
                non_stocks=config.non_stocks,
            )
        loaded.advance()
        if index_panel is None:
            index_panel = load_panel(config.index_data, kind="index", calendar=config.calendar)
        loaded.advance()
    return panel, index_panel


def run_strategy(
    spec: str | type[AShareStrategy], context: Context, seed: int | None = None
) -> StrategyResult:
    """Prepare (signals outside backtrader), then run one strategy in its own cerebro.
    ``spec`` is a strategy name (see plugins) or the class itself; ``seed`` (for
    strategies that use one) replaces the context's. Progress is reported as task
    ``name`` (with the seed)."""
    cls = load_strategy(spec) if isinstance(spec, str) else spec
    name = strategy_name(spec, cls) if isinstance(spec, str) else cls.__name__
    if seed is not None:
        context = replace(context, seed=seed)
    with progress.task(name, seed), exits_as_errors(f"strategy {name}"):
        result = _run_strategy(cls, name, context)
    result.seed = seed
    result.sessions_per_year = context.panel.calendar.sessions_per_year(context.rows)
    result.notes = code_change_notes(context.panel, name, result.positions)
    result.notes += suspect_factor_notes(result.label, result.events)
    return result  # its notes are warned about once, by run_backtest, in this process


def _run_strategy(cls: type[AShareStrategy], name: str, context: Context) -> StrategyResult:
    cls = adapt(cls)  # a backtrader strategy as written runs as quant.engine.bt_strategy says
    params = read_params(cls, name, context.config.params.get(name, {}))
    started = time.perf_counter()
    plan = cls.prepare(context, params)
    if not isinstance(plan, Plan):
        raise StrategyError(
            f"strategy {name}: prepare returned a {type(plan).__name__}, not a Plan"
        )
    plan = replace(plan, params=params)
    prepared = time.perf_counter()

    check_plan(name, cls, plan, context)
    plan = replace(plan, tables=with_returns(name, plan.tables, context))  # its scores' returns
    rules = context.config.rules
    if not plan.codes and not plan.index_codes:
        raise ConfigError(f"strategy {name}: its plan names no codes to trade")
    market = make_market(
        [(context.index_panel, plan.index_codes), (context.panel, plan.codes)],
        context.rows,
        rules.fill_at,
    )
    feeds = market.feeds
    schedule = None
    if context.actions is not None:
        schedule = ActionSchedule(
            context.actions.frame, market.names, context.dates, market.matrices["has_bar"]
        )
    cerebro, broker = new_cerebro(cls, rules, plan.cash or context.config.cash, market, schedule)
    cerebro.addstrategy(cls, *feeds[1:], quant_plan=plan, quant_name=name)
    days = len(context.dates)
    with progress.step("backtest", days, "day") as step:
        cerebro.addanalyzer(Recorder, _name="recorder", step=step)
        with paused_gc():
            strategy = cerebro.run()[0]
    finished = time.perf_counter()
    log.info(
        "%s: prepared in %.1f s, %d feeds x %d days backtested in %.1f s",
        name,
        prepared - started,
        len(feeds),
        days,
        finished - prepared,
    )
    return _collect(
        name, strategy, broker, plan, len(feeds), (prepared - started, finished - prepared)
    )


def new_cerebro(
    cls: type[AShareStrategy],
    rules: Rules,
    cash: float,
    market: Market,
    schedule: ActionSchedule | None = None,
) -> tuple[bt.Cerebro, AShareBroker]:
    """A cerebro stepping ``market`` (its first feed; the others follow it) with the
    A-share broker of ``rules`` holding ``cash`` yuan (a frictionless reference's broker
    for such a strategy class), applying the corporate-actions ``schedule`` (None: the
    adj_factor's approximation)."""
    cerebro = bt.Cerebro(stdstats=False, runonce=True, preload=True, quicknotify=True)
    broker = AShareBroker(rules=rules, frictionless=cls.frictionless)
    broker.setcash(cash)
    if cls.frictionless:
        broker.set_coc(True)  # reference: held from day 0's close
    cerebro.broker = broker
    market.attach(cerebro)
    broker.join(market, schedule)
    return cerebro, broker


def check_plan(name: str, cls: type[AShareStrategy], plan: Plan, context: Context) -> None:
    """ConfigError when a plan names codes the stock data lacks, indices that a strategy
    with costs would trade, or an index whose bars do not cover the window run."""
    unknown = [
        plan.codes[k] for k in np.flatnonzero(context.panel.codes.get_indexer(plan.codes) < 0)
    ]
    if unknown:
        raise ConfigError(
            f"strategy {name}: its plan names {len(unknown)} codes that the stock data "
            f"{context.config.data} lacks ({', '.join(unknown[:5])}"
            f"{', ...' if len(unknown) > 5 else ''})"
        )
    if plan.index_codes and not cls.frictionless:
        raise ConfigError(
            f"strategy {name}: its plan names indices ({', '.join(plan.index_codes)}), which "
            "cannot be traded; only frictionless reference strategies hold an index"
        )
    source = context.config.index_data
    check_covered(
        context.window, [index_coverage(context.index_panel, c, source) for c in plan.index_codes]
    )


@contextmanager
def paused_gc() -> Iterator[None]:
    """Python's cyclic garbage collector off while backtrader runs: every order it keeps
    (hundreds of thousands in a wide backtest) is traversed again by each full collection,
    a third of the run's time; the cycles a run leaves are collected once at its end."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
        gc.collect()


def code_change_notes(panel: MarketPanel, name: str, positions: pd.DataFrame) -> list[str]:
    """A warning for each stock the strategy held when its bars stopped while another code
    started the next session near its last close (MarketPanel.code_change_candidates):
    probably one security re-coded, which a code-changes file would merge."""
    candidates = panel.code_change_candidates
    if candidates.empty or positions.empty:
        return []
    mine = positions[positions["code"].isin(candidates["old"])]
    held = set(zip(mine["date"], mine["code"]))
    return [
        f"{name} held {c.old} when its bars stopped on {c.last_date}; {c.new} started the next "
        f"session at {c.first_open:.2f} against its last close {c.last_close:.2f}: if this is one "
        "security re-coded, name it in a code-changes file (--code-changes) so the position "
        "carries over instead of being frozen"
        for c in candidates.itertuples(index=False)
        if (pd.Timestamp(c.last_date), c.old) in held
    ]


def suspect_factor_notes(label: str, events: pd.DataFrame) -> list[str]:
    """A note naming the ex-rights days on which the broker kept a position's share count
    because the adj_factor change is suspect (quant.engine.broker)."""
    kept = events[events["event"] == SUSPECT_FACTOR_EVENT]
    if kept.empty:
        return []
    places = ", ".join(f"{c} {d.date()}" for d, c in zip(kept["date"][:5], kept["code"][:5]))
    return [
        f"{label} kept the share count of {len(kept)} positions on ex-rights days whose "
        f"adj_factor change the raw prices do not bear out ({places}"
        f"{', ...' if len(kept) > 5 else ''}): not multiplied by the factor's ratio, so the "
        f"holdings follow the raw prices there (events: '{SUSPECT_FACTOR_EVENT}')"
    ]


def _collect(
    name: str,
    strategy: Any,
    broker: AShareBroker,
    plan: Plan,
    feeds: int,
    seconds: tuple[float, float],
) -> StrategyResult:
    recorder = strategy.analyzers.recorder
    dates = recorder.dates()
    equity = pd.Series(recorder.equity, index=dates, name=name)
    return StrategyResult(
        name=name,
        nav=equity / equity.iloc[0],
        cash=pd.Series(recorder.cash, index=dates, name=name),
        equity=equity,
        fills=_frame(broker.fills, FILL_COLUMNS),
        refusals=_frame(broker.refusals, REFUSAL_COLUMNS),
        events=_frame(broker.events, EVENT_COLUMNS),
        positions=recorder.positions(),
        info=plan.info,
        tables=plan.tables,
        feeds=feeds,
        prepare_seconds=seconds[0],
        backtest_seconds=seconds[1],
    )


#: The columns of a run's trades: ``costs`` is every cost of the fill (yuan), also by kind;
#: ``dividend_tax`` is what a sale settled (quant.engine.actions).
FILL_COLUMNS = [
    "date", "code", "side", "size", "price", "value", "costs",
    "commission", "transfer_fee", "stamp_duty", "dividend_tax", "note",
]  # fmt: skip
#: The columns of a run's refused orders.
REFUSAL_COLUMNS = ["date", "code", "side", "size", "reason"]
#: The columns of a run's events (quant.engine.broker): ``cash`` what the event paid in (yuan,
#: < 0 when it cost), ``tax`` the dividend tax withheld from it.
EVENT_COLUMNS = [
    "date", "code", "event", "shares_before", "shares_after", "cash", "tax", "note",
]  # fmt: skip


def _frame(records: list[dict[str, Any]], columns: list[str]) -> pd.DataFrame:
    return pd.DataFrame.from_records(records, columns=columns)


@dataclass(frozen=True)
class Runs:
    """What a config runs, known before any data loads: ``jobs`` (strategy spec, seed or
    None) in order, the strategies' ``names`` (a custom one's: its class name) with their
    ``classes``, and the ``index_codes`` their plans will hold."""

    jobs: list[tuple[str, int | None]]
    names: list[str]
    classes: list[type[AShareStrategy]]
    index_codes: list[str]


def plan_runs(config: BacktestConfig) -> Runs:
    """Every check of a config that needs no data: each strategy loads, its parameters
    read (quant.engine.params) and checked against the run (AShareStrategy.check_run), no
    parameters for a strategy the run leaves out. Raises ConfigError naming the strategy
    and the key at fault."""
    jobs, names, classes, index_codes = [], [], [], []
    for spec in config.strategies:
        cls = load_strategy(spec)
        names.append(strategy_name(spec, cls))
        classes.append(cls)
        params = read_params(cls, names[-1], config.params.get(names[-1], {}))
        with exits_as_errors(f"strategy {names[-1]}"):
            cls.check_run(names[-1], params, config)
            index_codes += cls.index_codes(params)
        jobs += [(spec, seed) for seed in (config.seed_list if cls.uses_seed else [None])]
    check_params_used(config.params, names)
    check_strategy_names("baselines", config.baselines, names, builtins())
    check_strategy_names("paper.figures", config.paper.figures, names, builtins())
    return Runs(jobs, names, classes, index_codes)


def run_backtest(
    config: BacktestConfig,
    panel: MarketPanel | None = None,
    index_panel: MarketPanel | None = None,
) -> BacktestResult:
    """Every strategy of the config on the same data and window; strategies that use a
    seed run once per seed of ``config.seed_list``. Runs are independent, so with more
    than one they go to ``config.workers`` processes (0: one per core; see quant.workers),
    which read one copy of the data in shared memory (see quant.shared). The workers never
    run the caller's ``__main__`` (a notebook, a script without ``if __name__ ==
    "__main__":``): a strategy class defined there reaches them pickled by value.
    quant.backtest is the same run with the notebook's conveniences."""
    runs = plan_runs(config)  # a misspelt name or parameter fails before the data loads
    jobs = runs.jobs
    context = prepare_context(config, panel, index_panel, runs.index_codes)
    window = context.window
    notes = [window.clipped] if window.clipped else []
    notes += data_notes(context.panel)
    notes += money_notes(config, context.actions)
    applied = money(config, context.panel, context.dates, context.actions)
    workers = min(config.workers or os.cpu_count() or 1, len(jobs))
    if workers <= 1:
        results = [run_strategy(spec, context, seed) for spec, seed in jobs]
    else:
        threads = max(1, (os.cpu_count() or 1) // workers)  # each process trains on its share
        classes = dict(zip(config.strategies, runs.classes))
        payloads = [(portable(spec, classes[spec]), seed) for spec, seed in jobs]
        with shared(context) as handle:
            del context, panel, index_panel  # the workers read the shared copy: this can go
            # A fresh process per run: a finished run's memory (a model's training, a wide
            # book) is given back before the next, so that two runs' peaks do not stack.
            results = run_in_workers(
                _run_job,
                payloads,
                workers,
                _start_worker,
                (handle, threads),
                fresh=True,
                describe=_job_name,
            )
    for note in dict.fromkeys(note for result in results for note in result.notes):
        if note not in notes:
            notes.append(note)
            warnings.warn(note, DataWarning, stacklevel=2)
    return BacktestResult(config, results, window, notes, applied)


def portable(spec: str, cls: type[AShareStrategy]) -> str | bytes:
    """How a job names its strategy to a worker, which starts without the parent's
    ``__main__`` (quant.workers): the spec, which the worker loads again, or, for a class
    that lives in ``__main__`` (a notebook's, a script's), the class pickled by value
    (cloudpickle; its methods, nested classes and the ``__main__`` functions they call)."""
    if cls.__module__ != "__main__":
        return spec
    import cloudpickle

    return cloudpickle.dumps(cls)


_WORKER_CONTEXT: Context | None = None


def _start_worker(handle: Shared, threads: int) -> None:
    global _WORKER_CONTEXT
    _WORKER_CONTEXT = handle.load()
    import torch

    torch.set_num_threads(threads)


def _job_name(strategy: str | bytes, seed: int | None) -> str:
    """How a worker's job is named in an error line: its strategy and seed."""
    name = strategy if isinstance(strategy, str) else pickle.loads(strategy).__name__
    return f"strategy {name}" + ("" if seed is None else f" (seed {seed})")


def _run_job(strategy: str | bytes, seed: int | None) -> StrategyResult:
    assert _WORKER_CONTEXT is not None, "a worker runs jobs only after _start_worker"
    spec = pickle.loads(strategy) if isinstance(strategy, bytes) else strategy
    return run_strategy(spec, _WORKER_CONTEXT, seed)


def data_notes(panel: MarketPanel) -> list[str]:
    """What a reader of the report must know about the data (quant.data.notes: what it
    approximates, what the intake found, the plausibility checks across the panel)."""
    return panel_notes(panel)
