"""Where a book stands: its positions, cash and pending orders, its net value against the
benchmark index and against a backtest of the same sessions, and every day where the book
and that backtest differ, with why.

The backtest is ``quant backtest``'s run (quant.engine.run_backtest) of the book's config
from its start to the last session booked, on the data as it is now, with the book's own
walk-forward models (put in the signal cache first, by key: quant.signals.models). A book
booked on the same data gives the same fills, refusals and net values to the last digit
(tests/test_live_replay.py); a day that differs is reported with what differs and why:

- ``different data``: the session's bars have changed since it was booked (a fingerprint
  of each session's bars is kept, quant.live.evening.data_fingerprint), e.g. a store that
  was corrected or re-fetched;
- ``a refusal``: one side refused an order the other filled (or refused for another
  reason), named with its reason;
- ``trades``: the fills differ (code, side, shares or price);
- ``net value``: the same trades, another value (costs, a corporate action, a price).

After the first differing day the two books diverge: later days follow from it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from quant.data.panel import MarketPanel
from quant.live.book import Book, day
from quant.live.evening import Setup, data_fingerprint
from quant.live.orders import format_shares
from quant.signals.models import FolderModels

#: Relative tolerance of a net value that "agrees" (the same run gives the same digits).
AGREES = 1e-9


@dataclass
class Status:
    """A book's status (see the module): ``accounts`` (strategy, equity, cash, nav,
    benchmark, backtest nav; at the last session), ``positions`` and ``orders`` (pending:
    placed at the last session for the next), ``nav`` (session x net value of each
    strategy, ``benchmark`` and, compared, ``backtest:<strategy>``) and ``differences``
    (session, strategy, what, why)."""

    folder: Path
    start: pd.Timestamp
    sessions: pd.DatetimeIndex
    next_session: pd.Timestamp | None
    benchmark: str
    accounts: pd.DataFrame
    positions: pd.DataFrame
    orders: pd.DataFrame
    nav: pd.DataFrame
    differences: pd.DataFrame = field(default_factory=pd.DataFrame)
    compared: bool = False

    def __str__(self) -> str:
        return format_status(self)


def book_status(
    book: Book,
    setup: Setup,
    panel: MarketPanel | None,
    index_panel: MarketPanel,
    compare: bool,
) -> Status:
    """The status of ``book`` (see the module); ``panel``: the stock data (needed to
    compare), ``index_panel`` the index data (the benchmark)."""
    sessions = pd.DatetimeIndex(pd.to_datetime(book.sessions()["session"]))
    booked = book.sessions()
    accounts = book.table("accounts")
    last = book.last_session()
    equity = accounts.pivot(index="session", columns="strategy", values="equity")
    equity.index = pd.to_datetime(equity.index)
    equity = equity[[s.name for s in setup.strategies]] if len(equity) else equity
    nav = equity / equity.iloc[0] if len(equity) else equity
    benchmark = benchmark_index(setup, index_panel)
    if len(sessions):
        closes = index_panel.price("close", slice(None), [index_panel.column(benchmark)])[:, 0]
        series = pd.Series(closes, index=index_panel.dates).reindex(sessions)
        nav["benchmark"] = (series / series.iloc[0]).to_numpy()
    differences = pd.DataFrame(columns=["session", "strategy", "what", "why"])
    if compare and len(sessions) > 1 and panel is not None:
        backtest, differences = compare_with_backtest(
            book, setup, panel, index_panel, sessions, booked
        )
        for name in backtest:
            nav[f"backtest:{name}"] = backtest[name].reindex(sessions).to_numpy()
    rows = []
    if last is not None:
        final = accounts[accounts["session"] == last]
        for row in final.itertuples(index=False):
            entry = {
                "strategy": row.strategy,
                "equity": row.equity,
                "cash": row.cash,
                "nav": nav[row.strategy].iloc[-1],
                "benchmark": nav["benchmark"].iloc[-1],
            }
            if f"backtest:{row.strategy}" in nav:
                entry["backtest"] = nav[f"backtest:{row.strategy}"].iloc[-1]
                entry["differing_days"] = int((differences["strategy"] == row.strategy).sum())
            rows.append(entry)
    next_session = pd.Timestamp(booked["next_session"].iloc[-1]) if len(booked) else None
    return Status(
        folder=book.folder,
        start=setup.start,
        sessions=sessions,
        next_session=next_session,
        benchmark=benchmark,
        accounts=pd.DataFrame(rows),
        positions=book.table("positions", last) if last else pd.DataFrame(),
        orders=book.table("orders", last) if last else pd.DataFrame(),
        nav=nav,
        differences=differences,
        compared=compare and panel is not None and len(sessions) > 1,
    )


def benchmark_index(setup: Setup, index_panel: MarketPanel) -> str:
    """The index the book is measured against: the benchmark strategy's ``index`` when
    the config sets one, else 000001.SH (the SSE Composite) when the index data holds it,
    else its first index."""
    index = setup.config.params.get("benchmark", {}).get("index", "000001.SH")
    return index if index in index_panel.codes else str(index_panel.codes[0])


def compare_with_backtest(
    book: Book,
    setup: Setup,
    panel: MarketPanel,
    index_panel: MarketPanel,
    sessions: pd.DatetimeIndex,
    booked: pd.DataFrame,
) -> tuple[dict[str, pd.Series], pd.DataFrame]:
    """The backtest of the book's sessions (its net value per strategy) and the days
    where the book differs from it, with why (see the module)."""
    from quant.engine.runner import run_backtest

    export_models(book, FolderModels(Path(setup.config.cache_dir) / "signals" / "models"))
    config = setup.config.replace(
        {"start": day(sessions[1]), "end": day(sessions[-1]), "workers": 1, "seeds": []}
    )
    result = run_backtest(config, panel, index_panel)
    changed = _changed_sessions(panel, booked)
    fills, refusals = book.table("fills"), book.table("refusals")
    accounts = book.table("accounts")
    navs, rows = {}, []
    for run in result.strategies:
        name = run.name
        navs[name] = run.nav
        mine = accounts[accounts["strategy"] == name].set_index("session")["equity"]
        mine.index = pd.to_datetime(mine.index)
        theirs = run.equity.reindex(mine.index)
        for session in mine.index:
            today = day(session)
            why = _why(
                today,
                name,
                fills[(fills["strategy"] == name) & (fills["session"] == today)],
                refusals[(refusals["strategy"] == name) & (refusals["session"] == today)],
                run.fills[run.fills["date"] == session],
                run.refusals[run.refusals["date"] == session],
                mine[session],
                theirs[session],
                today in changed,
            )
            if why is not None:
                rows.append({"session": today, "strategy": name, "what": why[0], "why": why[1]})
    return navs, pd.DataFrame(rows, columns=["session", "strategy", "what", "why"])


def _why(
    today: str,
    name: str,
    fills: pd.DataFrame,
    refusals: pd.DataFrame,
    their_fills: pd.DataFrame,
    their_refusals: pd.DataFrame,
    equity: float,
    their_equity: float,
    changed: bool,
) -> tuple[str, str] | None:
    """What differs on a day, and why; None when nothing does."""
    same_value = np.isclose(equity, their_equity, rtol=AGREES, atol=0.0)
    mine, theirs = _trades(fills), _trades(their_fills)
    refused, their_refused = _refused(refusals), _refused(their_refusals)
    if same_value and mine == theirs and refused == their_refused:
        return None
    what = f"equity {equity:,.2f} in the book, {their_equity:,.2f} in the backtest"
    if changed:
        return what, "different data: the session's bars changed since it was booked"
    if refused != their_refused:
        only = sorted(refused - their_refused)
        theirs_only = sorted(their_refused - refused)
        parts = [f"the book refused {_name(r)}" for r in only] + [
            f"the backtest refused {_name(r)}" for r in theirs_only
        ]
        return what, "a refusal: " + "; ".join(parts)
    if mine != theirs:
        only = sorted(mine - theirs)
        theirs_only = sorted(theirs - mine)
        parts = [f"the book {_name(t)}" for t in only] + [
            f"the backtest {_name(t)}" for t in theirs_only
        ]
        return what, "trades: " + "; ".join(parts)
    return what, "net value: the same trades valued differently (prices, costs or an event)"


def _trades(frame: pd.DataFrame) -> set[tuple]:
    return {
        (str(r.code), r.side, round(float(r.size), 6), round(float(r.price), 6))
        for r in frame.itertuples(index=False)
    }


def _refused(frame: pd.DataFrame) -> set[tuple]:
    return {
        (str(r.code), r.side, round(float(r.size), 6), str(r.reason))
        for r in frame.itertuples(index=False)
    }


def _name(entry: tuple) -> str:
    code, side, size, last = entry
    detail = f"at {last:.2f}" if isinstance(last, float) else f"({last})"
    return f"{side} {size:g} {code} {detail}"


def _changed_sessions(panel: MarketPanel, booked: pd.DataFrame) -> set[str]:
    """Sessions whose bars in ``panel`` differ from those they were booked on."""
    rows = panel.dates.get_indexer(pd.to_datetime(booked["session"]))
    return {
        session
        for session, row, fingerprint in zip(booked["session"], rows, booked["data"])
        if row < 0 or data_fingerprint(panel, row) != fingerprint
    }


def export_models(book: Book, cache: FolderModels) -> list[str]:
    """Put the book's models in the signal cache's store (those it lacks), so that a
    backtest finds them by key instead of training its own; returns their keys."""
    added = []
    for key in book.models()["key"]:
        if cache.load(key) is None:
            data = book.model(key)
            assert data is not None
            cache.save(key, data, {})
            added.append(key)
    return added


def format_status(status: Status) -> str:
    """The status as ``quant live status`` prints it."""
    if not len(status.sessions):
        return f"book {status.folder}: no session booked yet (start {status.start.date()})"
    lines = [
        f"book {status.folder}: day 0 {status.sessions[0].date()}, {len(status.sessions) - 1} "
        f"sessions with a return booked, the last {status.sessions[-1].date()}; next session "
        f"{status.next_session.date() if status.next_session is not None else '?'} "
        f"(orders-{day(status.next_session)}.csv)"
        if status.next_session is not None
        else f"book {status.folder}",
        "",
    ]
    table = status.accounts.copy()
    shown = {
        "equity": "{:,.2f}",
        "cash": "{:,.2f}",
        "nav": "{:.4f}",
        "benchmark": "{:.4f}",
        "backtest": "{:.4f}",
    }
    for column, form in shown.items():
        if column in table:
            table[column] = table[column].map(form.format)
    table = table.rename(columns={"benchmark": f"benchmark ({status.benchmark})"})
    lines.append(table.to_string(index=False))
    if not status.compared:
        lines.append("(not compared with a backtest)")
    lines += ["", f"positions at the close of {status.sessions[-1].date()}:"]
    if len(status.positions):
        held = status.positions[["strategy", "code", "shares", "close", "value"]].assign(
            shares=lambda t: format_shares(t["shares"]),
            close=lambda t: t["close"].map("{:.2f}".format),
            value=lambda t: t["value"].map("{:,.2f}".format),
        )
        lines.append(held.to_string(index=False))
    else:
        lines.append("  none")
    lines += ["", "orders pending for the next session:"]
    if len(status.orders):
        pending = status.orders[["strategy", "code", "side", "shares", "reason", "may_stop"]]
        pending = pending.assign(shares=format_shares(pending["shares"]))
        lines.append(pending.to_string(index=False))
    else:
        lines.append("  none")
    if status.compared:
        lines += ["", "days where the book and the backtest differ:"]
        if len(status.differences):
            for row in status.differences.itertuples(index=False):
                lines.append(f"  {row.session} {row.strategy}: {row.what}; {row.why}")
        else:
            lines.append("  none: the same fills, refusals and net values on every session")
    return "\n".join(lines)
