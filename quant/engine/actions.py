"""Corporate actions as they happen, from a corporate-actions table (quant.data.actions),
and the dividend tax: what the broker (quant.engine.broker) does at the start of each
session, before any order fills. The state it carries between sessions is the book's
(quant.engine.book.BookState); the run's schedule of record dates is
:class:`ActionSchedule`.

An action of a held stock, step by step (A-share practice: research notes in
docs/corporate_actions.md):

1. **record date** (股权登记日): holders at its close are entitled. At the start of the
   next session the shares held (the close's) are noted, and every lot of the stock
   records the dividend income of each share (cash before tax, plus the par value of bonus
   shares) and the tax withheld on it (quant.market.dividend_tax: 10 % before 2013, 5 %
   for record dates 2013-01-01 .. 2015-09-07, nothing from 2015-09-08).
2. **rights payment** (a rights issue, from its first payment day, by default the session
   after the record date): the strategy's :meth:`rights_issue` says how many rights
   shares to take (default: ``Rules.rights``, "subscribe": all of them, as far as the
   cash goes, whole shares); their price is paid in cash then. Not taken: lapsed, the
   holding diluted by the ex-rights price.
3. **ex date** (除权除息日): bonus (送) and transferred (转) shares, floor(held x ratio),
   and the rights shares paid for are credited, as new lots acquired that day, sellable
   from their listing date; the cash dividend, less the tax withheld, is owed from that
   day (counted in equity) and paid on the pay date.
4. **sale**: after each session the day's net trade of each stock settles into its lots
   (daily net, 85号 art. 3): a net sale takes the oldest lots first and pays the tax of
   each lot's holding period (from its acquisition to the sale) on the income it
   received, less what was withheld, rounded to the fen (CSDC), from cash; it is a cost
   of that day's last sell of the stock (``dividend_tax`` in the trades).

Where the table has an action for a stock and ex date, the adjustment factor's change on
that day (on the first bar from the ex date) is not applied: raw prices fall by the
dividend and dilute by the new shares, and the shares and cash above make up for it, so
nothing counts twice. Every other factor change of a held stock is applied as before
(shares scaled by the ratio: the total-return approximation), and counted in the report.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from quant.engine.book import BookState, Entitlement, Income, Locked, Lot, Receivable
from quant.market.dividend_tax import regime_on
from quant.market.fees import par_value

#: The events of the run's log (``events``) that the table's actions write.
DIVIDEND = "cash dividend"
BONUS = "bonus and transferred shares"
RIGHTS_SUBSCRIBED = "rights subscribed"
RIGHTS_LAPSED = "rights lapsed"
RIGHTS_CREDITED = "rights shares"
#: The event of a factor change applied by its ratio (no table, or no row for it).
APPROXIMATED = "ex-rights"


@dataclass(frozen=True)
class RightsOffer:
    """A rights issue the strategy is asked about on its payment day: ``entitled`` shares
    held at the close of ``record_date`` may take ``offered`` rights shares (floor of
    entitled x ratio) at ``price`` yuan each, credited on ``ex_date``."""

    code: str
    record_date: pd.Timestamp
    ex_date: pd.Timestamp
    entitled: float
    offered: float
    price: float

    @property
    def cost(self) -> float:
        """Yuan to take every share offered."""
        return self.offered * self.price


@dataclass(frozen=True)
class Action:
    """One row of the table for one of the run's feeds, its dates filled in (see
    quant.data.actions.table for the defaults)."""

    code: str
    record_date: pd.Timestamp
    ex_date: pd.Timestamp
    pay_date: pd.Timestamp
    listing_date: pd.Timestamp
    cash: float
    bonus: float
    transfer: float
    rights: float
    rights_price: float


class ActionSchedule:
    """The table's actions for a run: ``record[r]`` the actions whose record date is the
    session before window row ``r`` (their entitlement is taken at the start of row r);
    ``covered[r]`` the feed columns whose adjustment-factor change on row r an action
    explains (the first bar from its ex date). The broker takes an entitlement's ex step on
    that same bar, the first session from the ex date on which the stock trades: on an ex
    date inside a suspension the price falls only then, and new shares and cash credited
    on the ex date itself would be valued with the old close until then (equity jumping by
    them, then back); a dividend's pay date is no earlier, and new shares without a
    listing date are sellable from it. A stock suspended from its ex date to the window's
    end keeps its last close, its entitlement waiting. Nothing here reads a bar after the
    row it concerns: a paper book, which builds the schedule each evening from the bars
    known then (:meth:`rows`, quant.engine.session), gets the backtest's.

    ``frame``: the table's tidy rows; ``codes``: the feeds' codes, in column order;
    ``dates``: the window's sessions; ``has_bar``: (T, F) whether each feed has a bar."""

    def __init__(
        self, frame: pd.DataFrame, codes: list[str], dates: pd.DatetimeIndex, has_bar: np.ndarray
    ) -> None:
        self.record: dict[int, list[Action]] = {}
        self.covered: dict[int, set[int]] = {}
        column = {code: k for k, code in enumerate(codes)}
        rows = frame[frame["code"].isin(column) & (frame["ex_date"] >= dates[0])]
        for row in rows.itertuples(index=False):
            ex = dates.searchsorted(row.ex_date)  # len(dates): after the window
            if ex < len(dates) and dates[ex] != row.ex_date:
                continue  # not a session (quant.data.actions.check refuses it)
            col = column[row.code]
            bars = np.flatnonzero(has_bar[ex:, col])
            if len(bars):
                self.covered.setdefault(int(ex + bars[0]), set()).add(col)
            recorded = row.record_date
            if pd.isna(recorded):
                if ex == len(dates):
                    continue  # the session before an ex date after the window is not known
                recorded = dates[ex - 1] if ex > 0 else dates[0] - pd.Timedelta(days=1)
            record = dates.searchsorted(recorded)
            after = record + 1  # the entitlement is taken at the start of this row
            if after >= len(dates) or record >= ex or dates[record] != recorded:
                continue  # recorded before the window (nothing was held then), or too late
            pay = row.pay_date
            if pd.isna(pay):
                pay = dates[after] if row.rights > 0 else row.ex_date
            listing = row.ex_date if pd.isna(row.listing_date) else row.listing_date
            self.record.setdefault(after, []).append(
                Action(
                    row.code,
                    recorded,
                    row.ex_date,
                    pay,
                    listing,
                    row.cash,
                    row.bonus,
                    row.transfer,
                    row.rights,
                    row.rights_price,
                )
            )

    def rows(self, start: int, stop: int) -> ActionSchedule:
        """The schedule of window rows ``start`` .. ``stop - 1`` alone, renumbered from 0
        (a paper book's session: the schedule of its history, for the two bars it runs)."""
        part = ActionSchedule.__new__(ActionSchedule)
        part.record = {r - start: a for r, a in self.record.items() if start <= r < stop}
        part.covered = {r - start: c for r, c in self.covered.items() if start <= r < stop}
        return part


def round_fen(yuan: float) -> float:
    """Half up to the fen (CSDC's rounding of the tax settled at a sale)."""
    return math.floor(yuan * 100.0 + 0.5 + 1e-9) / 100.0


def entitle(book: BookState, action: Action, shares: float) -> Entitlement:
    """Note ``shares`` held at the record date's close and, on every lot of the stock, the
    dividend income of each share and the tax withheld on it (see the module)."""
    income = action.cash + par_value(action.code) * action.bonus
    if income > 0:
        withheld = income * regime_on(action.record_date).withheld
        for lot in book.lots.get(action.code, []):
            lot.income.append(Income(action.record_date, income, withheld))
    entitlement = Entitlement(
        action.code, action.record_date, action.ex_date, action.pay_date, action.listing_date,
        shares, action.cash, action.bonus, action.transfer, action.rights, action.rights_price,
    )  # fmt: skip
    book.entitlements.append(entitlement)
    return entitlement


def withheld_at_payment(entitlement: Entitlement) -> tuple[float, float]:
    """The cash dividend of an entitlement before tax and the tax withheld from it, yuan,
    each rounded to the fen (the bonus shares' tax withheld from the cash too)."""
    gross = round_fen(entitlement.shares * entitlement.cash)
    income = entitlement.cash + par_value(entitlement.code) * entitlement.bonus
    rate = regime_on(entitlement.record_date).withheld
    return gross, round_fen(entitlement.shares * income * rate)


def settle(lots: list[Lot], shares: float, sold: pd.Timestamp) -> float:
    """A net sale of ``shares`` on ``sold`` out of ``lots`` (oldest first, taken in
    place): the dividend tax it settles, yuan, rounded to the fen (see the module)."""
    due, left = 0.0, shares
    while left > 1e-9 and lots:
        lot = lots[0]
        take = min(lot.shares, left)
        for income in lot.income:
            regime = regime_on(income.record_date)
            owed = income.per_share * regime.rate(lot.acquired, sold) - income.withheld
            due += take * max(owed, 0.0)
        lot.shares -= take
        left -= take
        if lot.shares <= 1e-9:
            lots.pop(0)
    return round_fen(due)


def acquire(lots: list[Lot], shares: float, day: pd.Timestamp) -> None:
    """``shares`` acquired on ``day``: a lot of its own (joined to the last one if it
    was acquired the same day)."""
    if lots and lots[-1].acquired == day and not lots[-1].income:
        lots[-1].shares += shares
    else:
        lots.append(Lot(day, shares))


def rescale(lots: list[Lot], before: float, after: float) -> None:
    """Lots of a position scaled from ``before`` to ``after`` shares by an adjustment
    factor's ratio (the approximation): each lot by the ratio, the rounding taken by the
    last; income per share divided by it, so the income held stays the same."""
    if not lots or before <= 0:
        return
    ratio = after / before
    for lot in lots:
        lot.shares *= ratio
        for income in lot.income:
            income.per_share /= ratio
            income.withheld /= ratio
    lots[-1].shares += after - sum(lot.shares for lot in lots)


def unlock(book: BookState, today: pd.Timestamp) -> None:
    """New shares whose listing date has come become sellable."""
    book.locked = [lock for lock in book.locked if lock.until > today]


def lock(
    book: BookState, code: str, shares: float, until: pd.Timestamp, today: pd.Timestamp
) -> None:
    if shares > 0 and until > today:
        book.locked.append(Locked(code, until, shares))


def due(
    items: list, today: pd.Timestamp, date: str, ready: Callable[[Any], bool] | None = None
) -> tuple[list, list]:
    """The items whose ``date`` attribute is today or earlier (and ``ready``, if given),
    and the rest, each in their order."""
    now = [i for i in items if getattr(i, date) <= today and (ready is None or ready(i))]
    taken = {id(i) for i in now}
    return now, [i for i in items if id(i) not in taken]


def receivable(entitlement: Entitlement, today: pd.Timestamp) -> Receivable | None:
    """The cash an entitlement is owed from its ex step ``today``, paid on its pay date or
    today if that has passed (an ex date inside a suspension), or None (no cash, no tax)."""
    gross, withheld = withheld_at_payment(entitlement)
    if gross == 0 and withheld == 0:
        return None
    pay = max(entitlement.pay_date, today)
    return Receivable(entitlement.code, pay, gross - withheld, withheld, entitlement.shares)


def new_shares(entitlement: Entitlement) -> float:
    """Bonus and transferred shares credited on the ex date: floor(held x ratio) (CSDC
    allots fractions by lot of the largest remainders; a holder is not paid for them)."""
    return float(math.floor(entitlement.shares * (entitlement.bonus + entitlement.transfer) + 1e-9))


def offer_of(entitlement: Entitlement) -> RightsOffer:
    offered = float(math.floor(entitlement.shares * entitlement.rights + 1e-9))
    return RightsOffer(
        entitlement.code,
        entitlement.record_date,
        entitlement.ex_date,
        entitlement.shares,
        offered,
        entitlement.rights_price,
    )
