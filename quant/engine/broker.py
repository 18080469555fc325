"""The A-share broker: backtrader's broker (on the speed path of quant.engine.fastpath)
with the market's rules, its costs and its corporate actions, and a log of every fill,
refusal and event.

Rules: every order passes the checks of quant.engine.validators when it would fill (the
bar after it was placed): suspended or not listed, limit-up / limit-down, T+1 or more than
held, the board's order size; cash is checked when the day's orders are submitted.
Refused orders are logged in ``refusals`` (never silently lost), marked Rejected (Margin
for cash) with the reason in ``order.info.reason``, and delivered to the strategy's
``notify_order``; a strategy that still wants the trade places it again. Costs:
quant.engine.costs.

Corporate actions: with a corporate-actions table (``BacktestConfig.corporate_actions``),
its dividends, bonus shares and rights issues happen as they do for a holder
(quant.engine.actions: cash on the pay date less the tax withheld, new shares on the ex
date, rights paid for or lapsed, the dividend tax of the holding period settled after each
session's net sale), their state kept in ``book`` (quant.engine.book.BookState). Every
other ex-rights day of a held stock (all of them without a table) multiplies the
position's share count by the adjustment-factor ratio (dividends reinvested at the
ex-rights reference price, no tax; a rights issue taken as free shares); fractions of a
share are paid out in cash, and orders pending in the old shares are restated. On an
ex-rights day whose factor change the raw prices do not bear out
(MarketPanel.suspect_factor: the close lies beyond the day's price limit from the ex-rights
reference price) the share count is kept and the day logged as an event
(``SUSPECT_FACTOR_EVENT``): positions are valued at raw prices, which show no matching gap,
so multiplying the shares by the ratio would make the holding's value jump by it, a wrong
number that nothing else would show; keeping the count follows the raw prices.

A stock that stops trading is not sold for the holder by default: a price table cannot tell
a delisting from a long suspension without looking ahead, so the position stays, valued at
its last close, its sells keep being refused, and the report counts what is still held
without a bar at the end. ``rules.write_off_after_days = K`` closes such a position at its
last close after K trading days without a bar, and logs it.
"""

from __future__ import annotations

import math
from collections import defaultdict
from functools import partial
from typing import Any

import backtrader as bt
import numpy as np
import pandas as pd

from quant.engine import actions as act
from quant.engine.actions import ActionSchedule, RightsOffer
from quant.engine.arguments import StrategyError, is_number
from quant.engine.book import BookState, Entitlement
from quant.engine.config import Rules
from quant.engine.costs import (
    AShareCommission,
    DayRates,
    FrictionlessCommission,
    TradeCosts,
    day_rates,
    trade_costs,
)
from quant.engine.fastpath import BuyOrder, FastBroker, SellOrder, listens
from quant.engine.feeds import SUSPECT_FACTOR, TRADABLE, Market
from quant.engine.validators import CASH, fill_checks
from quant.market.fees import exchange_of, par_value
from quant.market.rules import OrderSize, order_size

#: The event logged for a position kept unresized on a suspect ex-rights day.
SUSPECT_FACTOR_EVENT = "ex-rights not applied: suspect adj_factor"


class AShareBroker(FastBroker):
    """The broker of one run (see the module). ``rules``: the run's Rules (costs, T+1,
    limits, fill time); ``frictionless``: a reference strategy's broker (no costs, any
    whole share, only the Trading rule). ``fills``, ``refusals`` and ``events`` are the
    run's logs, one dict per row (dates are sessions; sizes in shares; money in yuan)."""

    params = (("rules", None), ("frictionless", False))

    def __init__(self) -> None:
        super().__init__()
        self.rules: Rules = self.p.rules or Rules()
        self.frictionless: bool = self.p.frictionless
        self.checks = fill_checks(self.rules, self.frictionless)
        self.refusals: list[dict[str, Any]] = []
        self.fills: list[dict[str, Any]] = []
        self.events: list[dict[str, Any]] = []
        #: The book's state beyond cash and positions: FIFO lots, entitlements, dividends
        #: owed, shares not yet listed (quant.engine.book; plain data a run can persist).
        self.book = BookState()
        #: The corporate-actions table's schedule for this run (None: no table).
        self.schedule: ActionSchedule | None = None
        #: The strategy whose book this is (asked about rights issues; set when it starts).
        self.holder: Any = None
        self._bought_today: dict[Any, float] = defaultdict(float)
        self._today = pd.Timestamp("1970-01-01")
        self._rates: dict[str, DayRates] = {}  # today's fees per exchange, when first asked
        self._order_sizes: dict[tuple[str, pd.Timestamp], OrderSize] = {}
        self._days_without_bar = np.zeros(0, dtype=np.int64)
        self._last_sell: dict[str, int] = {}  # code -> today's last sell in fills
        self._feeds_by_code: dict[str, Any] = {}
        if self.frictionless:
            self.addcommissioninfo(FrictionlessCommission())

    def join(self, market: Market, schedule: ActionSchedule | None = None) -> None:
        """Take the run's feeds (quant.engine.feeds.Market) and the corporate-actions
        schedule (None: no table), and give each stock the commission scheme of its
        exchange and par value (one per pair)."""
        self.market = market
        self.schedule = None if self.frictionless else schedule
        self._feeds_by_code = dict(zip(market.names, market.feeds))
        if self.frictionless:
            return
        schemes: dict[tuple[str, float], AShareCommission] = {}
        for code in market.names:
            key = (exchange_of(code), par_value(code))
            if key not in schemes:
                schemes[key] = AShareCommission(
                    rules=self.rules, rates=partial(self.rates, key[0]), par=key[1]
                )
            self.comminfo[code] = schemes[key]

    def rates(self, exchange: str) -> DayRates:
        """Today's fees on ``exchange`` (quant.engine.costs.day_rates)."""
        found = self._rates.get(exchange)
        if found is None:
            found = self._rates[exchange] = day_rates(self.rules, exchange, self._today)
        return found

    # -- what the rules read (quant.engine.validators.Account) --------------------
    def order_size(self, data: Any) -> OrderSize:
        """The order sizes a feed's stock allows today (its board's rule, or the study's
        ``rules.lot``); any whole share for a frictionless reference."""
        if self.frictionless:
            return OrderSize(1, 1)
        key = (data.board, self._today)
        if key not in self._order_sizes:
            self._order_sizes[key] = order_size(data.board, self._today, self.rules.lot_override)
        return self._order_sizes[key]

    def held(self, data: Any) -> float:
        """Shares of a feed's stock held now."""
        return self.positions[data].size

    def bought_today(self, data: Any) -> float:
        """Shares of a feed's stock bought in today's session (filled today)."""
        return self._bought_today.get(data, 0.0)

    def locked(self, data: Any) -> float:
        """Shares of a feed's stock credited (bonus, transferred, rights) but not listed
        yet: not sellable."""
        return self.book.locked_shares(data._name) if self.book.locked else 0.0

    # -- the bar's clock and the start-of-day events ------------------------------
    def next(self) -> None:
        """Start of a bar (before orders fill): date the bar, then apply corporate actions
        and write-offs to the positions held (found at once in the market's book); after
        the bar's fills, settle the session's net trades into the lots (with a table)."""
        market = self.market
        self._today = pd.Timestamp(market.clock.datetime.date(0))
        self._rates.clear()
        self._bought_today.clear()
        self._last_sell.clear()
        self._forget_finished()
        if self.schedule is not None:
            self._table_actions(market.row)
        held = np.flatnonzero(market.book)
        if len(held):
            ratio = market.today("share_ratio")[held]
            ex_rights = held[(ratio != 1.0) & np.isfinite(ratio) & (ratio > 0)]
            covered = self.schedule.covered.get(market.row) if self.schedule is not None else None
            if covered and len(ex_rights):
                ex_rights = ex_rights[~np.isin(ex_rights, list(covered))]
            if len(ex_rights):
                suspect = (market.today("flags")[ex_rights] & SUSPECT_FACTOR) > 0
                for k in ex_rights[suspect]:
                    self._keep_shares(market.feeds[k])
                self._resize_pending(
                    dict(self._corporate_action(market.feeds[k]) for k in ex_rights[~suspect])
                )
            if self.rules.write_off_after_days:
                self._write_offs(held)
        self._process_orders()
        if self.schedule is not None and self.book.traded:
            self._settle_session()

    def sync(self, data: Any) -> None:
        """Copy a feed's position size into the market's book (after a fill, a corporate
        action or a write-off)."""
        self.market.book[data.column] = self.positions[data].size

    # -- corporate actions and write-offs -----------------------------------------
    def _corporate_action(self, data: Any) -> tuple[Any, tuple[float, float, float]]:
        """Scale a position on its ex-rights day by the adjustment factor's ratio (the
        approximation); returns (data, (ratio, shares before, shares after)) for the
        restatement of its pending orders."""
        position = self.positions[data]
        ratio = data.share_ratio[0]
        reference = data.close[-1] / ratio  # yesterday's close, ex-rights
        shares = position.size * ratio
        whole = math.floor(shares + 1e-9)
        cash_in_lieu = (shares - whole) * reference
        self.cash += cash_in_lieu
        self._log_event(data, act.APPROXIMATED, position.size, whole, cash_in_lieu)
        position.price = position.price / ratio if position.price else position.price
        before = position.size
        if self.schedule is not None:
            act.rescale(self.book.lots.get(data._name, []), before, whole)
        position.size = whole
        position.adjbase = reference
        self.sync(data)
        return data, (ratio, before, whole)

    def _keep_shares(self, data: Any) -> None:
        """A suspect ex-rights day (see the module): the share count stays, logged."""
        size = self.positions[data].size
        self._log_event(data, SUSPECT_FACTOR_EVENT, size, size, 0.0)

    def _log_event(
        self,
        data: Any,
        event: str,
        before: float,
        after: float,
        cash: float,
        tax: float = 0.0,
        note: str = "",
    ) -> None:
        """A change to a position or to cash that no order made: shares before and after,
        the cash it paid (yuan, < 0 when it cost), the tax withheld from it, dated today."""
        self.events.append(
            {
                "date": self._today,
                "code": data._name,
                "event": event,
                "shares_before": before,
                "shares_after": after,
                "cash": cash,
                "tax": tax,
                "note": note,
            }
        )

    # -- the corporate-actions table (quant.engine.actions) -------------------------
    def _table_actions(self, row: int) -> None:
        """Today's steps of the table's actions, in order: shares not listed before today
        become sellable; entitlements of record dates that closed yesterday; rights paid
        for from their payment day; ex dates (new shares, dividends owed); dividends paid."""
        book, today = self.book, self._today
        if book.locked:
            act.unlock(book, today)
        schedule = self.schedule
        assert schedule is not None
        for action in schedule.record.get(row, ()):
            held = self.positions[self._feeds_by_code[action.code]].size
            if held > 0:
                act.entitle(book, action, held)
        for entitlement in book.entitlements:
            if entitlement.rights > 0 and not entitlement.decided and entitlement.pay_date <= today:
                self._pay_rights(entitlement)
        if book.entitlements:
            trading = self.market.today("has_bar")
            now, book.entitlements = act.due(
                book.entitlements,
                today,
                "ex_date",
                lambda e: bool(trading[self._feeds_by_code[e.code].column]),
            )
            restated = {}
            for entitlement in now:
                if entitlement.rights > 0 and not entitlement.decided:
                    self._pay_rights(entitlement)
                restated.update(self._ex_date(entitlement))
            if restated:
                self._resize_pending(restated)
        if book.receivables:
            paid, book.receivables = act.due(book.receivables, today, "pay_date")
            for owed in paid:
                self.cash += owed.amount
                data = self._feeds_by_code[owed.code]
                size = self.positions[data].size
                note = f"{owed.shares:g} shares entitled"
                self._log_event(data, act.DIVIDEND, size, size, owed.amount, owed.withheld, note)

    def _pay_rights(self, entitlement: Entitlement) -> None:
        """A rights issue's payment day: the strategy (or Rules.rights) says how many
        rights shares to take; as many as the cash pays for are paid now (whole shares),
        the rest lapse."""
        entitlement.decided = True
        offer = act.offer_of(entitlement)
        if offer.offered <= 0:
            return
        wanted = self._rights_wanted(offer)
        affordable = math.floor((self.cash + 1e-9) / offer.price)
        taken = float(min(wanted, affordable))
        entitlement.subscribed, entitlement.paid = taken, taken * offer.price
        self.cash -= entitlement.paid
        data = self._feeds_by_code[offer.code]
        size = self.positions[data].size
        terms = (
            f"{offer.offered:g} offered at {offer.price:g} yuan, ex-rights {offer.ex_date.date()}"
        )
        if taken:
            self._log_event(
                data,
                act.RIGHTS_SUBSCRIBED,
                size,
                size,
                -entitlement.paid,
                note=f"{taken:g} of {terms}",
            )
        if taken < offer.offered:
            why = "cash" if affordable < wanted else "not taken"
            note = f"{offer.offered - taken:g} of {terms} ({why})"
            self._log_event(data, act.RIGHTS_LAPSED, size, size, 0.0, note=note)

    def _rights_wanted(self, offer: RightsOffer) -> float:
        """Rights shares the holder wants: its strategy's answer (AShareStrategy.rights_issue:
        a whole number 0 .. offered), or Rules.rights."""
        answer = self.holder.rights_issue(offer) if self.holder is not None else None
        if answer is None:
            return offer.offered if self.rules.rights == "subscribe" else 0.0
        if not (is_number(answer) and 0 <= answer <= offer.offered and float(answer).is_integer()):
            name = getattr(self.holder, "_run_name", type(self.holder).__name__)
            raise StrategyError(
                f"strategy {name}: rights_issue({offer.code}, {offer.record_date.date()}) must "
                f"return None or a whole number of shares from 0 to {offer.offered:g}, got {answer!r}"
            )
        return float(answer)

    def _ex_date(self, entitlement: Entitlement) -> dict[Any, tuple[float, float, float]]:
        """An entitlement's ex date: bonus, transferred and paid-for rights shares credited
        (a new lot, locked until listed), the cash dividend owed from today. Returns the
        restatement of pending orders when the new shares are sellable today."""
        data = self._feeds_by_code[entitlement.code]
        position = self.positions[data]
        before = position.size
        bonus = act.new_shares(entitlement)
        added = bonus + entitlement.subscribed
        owed = act.receivable(entitlement, self._today)
        if owed is not None:
            self.book.receivables.append(owed)
        if not added:
            return {}
        after = before + added
        position.price = (position.price * before + entitlement.paid) / after
        position.size = after
        entitlement.paid = 0.0  # now in the shares
        act.acquire(self.book.lots.setdefault(entitlement.code, []), added, self._today)
        listing = max(entitlement.listing_date, self._today)
        act.lock(self.book, entitlement.code, added, listing, self._today)
        self.sync(data)
        listed = f"sellable from {listing.date()}"
        if bonus:
            self._log_event(data, act.BONUS, before, before + bonus, 0.0, note=listed)
        if entitlement.subscribed:
            self._log_event(data, act.RIGHTS_CREDITED, before + bonus, after, 0.0, note=listed)
        if before <= 0 or listing > self._today:
            return {}  # orders in the old shares stay as placed: the new cannot be sold yet
        return {data: (after / before, before, after)}

    def _settle_session(self) -> None:
        """After the session's fills: each stock's net trade settles into its lots, a net
        sale paying the dividend tax its lots owe (a cost of the day's last sell of it)."""
        for code, net in self.book.traded.items():
            lots = self.book.lots.setdefault(code, [])
            if net > 1e-9:
                act.acquire(lots, net, self._today)
            elif net < -1e-9:
                tax = act.settle(lots, -net, self._today)
                if tax > 0:
                    self.cash -= tax
                    fill = self.fills[self._last_sell[code]]
                    fill["dividend_tax"] += tax
                    fill["costs"] += tax
        self.book.traded.clear()
        self._get_value()

    def _get_value(self, datas: Any = None, lever: bool = False) -> float:
        """Equity (quant.engine.fastpath), plus what the book is owed: dividends past their
        ex date and rights paid for, not yet paid or credited."""
        value = super()._get_value(datas, lever)
        owed = self.book.pending_value() if datas is None and self.market is not None else 0.0
        if owed:
            self._value = self._valuelever = value + owed
            self._fundval = self._value / self._fundshares
            return self._value
        return value

    def _write_offs(self, held: np.ndarray) -> None:
        """With ``rules.write_off_after_days = K``: a position K sessions in a row without a
        bar is closed at its last close (decided on the past only)."""
        market = self.market
        if len(self._days_without_bar) != len(market.feeds):
            self._days_without_bar = np.zeros(len(market.feeds), dtype=np.int64)
        days = self._days_without_bar
        without = (market.today("flags")[held] & TRADABLE) == 0
        kept = days[held]
        days[:] = 0  # only the run of days of positions held now counts
        days[held] = np.where(without, kept + 1, 0)
        for k in held[days[held] >= self.rules.write_off_after_days]:
            self._write_off(market.feeds[k], int(days[k]))
            days[k] = 0

    def _write_off(self, data: Any, days: int) -> None:
        position = self.positions[data]
        price, size = data.close[0], position.size  # the last close, carried forward
        costs = self._costs(data, -size, price)
        self.cash += size * price - costs.total
        note = f"written off at the last close after {days} days without a bar"
        self.fills.append(self._fill_record(data, -size, price, costs, note))
        self._traded(data, -size)
        self._log_event(data, "written off", size, 0, size * price - costs.total)
        position.size, position.price = 0, 0.0
        self.sync(data)

    def _costs(self, data: Any, size: float, price: float) -> TradeCosts:
        """An order's costs by kind (none for a frictionless reference)."""
        if self.frictionless:
            return TradeCosts(0.0, 0.0, 0.0)
        rates = self.rates(exchange_of(data._name))
        return trade_costs(self.rules, size, price, rates, par_value(data._name))

    def _traded(self, data: Any, size: float) -> None:
        """Note a fill of ``size`` shares (> 0 bought) for the session's settlement."""
        if size < 0:
            self._last_sell[data._name] = len(self.fills) - 1
        if self.schedule is not None:
            self.book.traded[data._name] = self.book.traded.get(data._name, 0.0) + size

    def _resize_pending(self, actions: dict[Any, tuple[float, float, float]]) -> None:
        """Orders placed last night in the old shares are restated in the new ones (the
        ex-date is announced, so this is what the strategy would have ordered): a sell of
        the whole position sells the whole new position, other sizes scale by the ratio,
        buys rounded down to whole lots, sells to whole lots or the whole position.
        ``actions``: per feed with an ex-rights day, (ratio, shares before, shares after)."""
        for order in (*self.submitted, *self.pending):
            action = actions.get(order.data) if order is not None else None
            if action is None:
                continue
            ratio, before, after = action
            sizes = self.order_size(order.data)
            size = abs(order.created.size)
            if order.issell() and abs(size - before) < 1e-9:
                scaled = after
            else:
                scaled = sizes.round_down(size * ratio)
                if order.issell():
                    scaled = min(scaled, after)
                if scaled == 0:  # less than a lot either way: the rules will refuse it
                    continue
            order.size = order.created.size = order.executed.remsize = (
                scaled if order.isbuy() else -scaled
            )

    # -- the rules, checked when an order would fill ------------------------------
    def submit(self, order: bt.Order, check: bool = True) -> bt.Order:
        """Market orders fill at the next bar's open, or at its close under
        ``fill_at = "close"`` (backtrader's Close order type)."""
        if (
            self.rules.fill_at == "close"
            and order.exectype == bt.Order.Market
            and not self.frictionless
        ):
            order.exectype = bt.Order.Close
        return super().submit(order, check)

    def _try_exec(self, order: bt.Order) -> None:
        data = order.data
        if data.datetime[0] <= order.created.dt:  # placed this bar: fills on the next one
            return super()._try_exec(order)
        for check in self.checks:
            reason = check.refusal(order, self)
            if reason:
                self._refuse(order, reason)
                return None
        before = order.executed.size
        if order.exectype == bt.Order.Market and not self.p.coc:
            self._fill_at_open(order)
        else:
            super()._try_exec(order)
        filled = order.executed.size - before
        if filled > 0:
            self._bought_today[data] += filled
        return None

    def _refuse(self, order: bt.Order, reason: str) -> None:
        """An order a rule refuses when it would fill: logged, rejected with its reason
        (``order.info.reason``), notified; its OCO group and bracket follow backtrader's
        handling of a rejected order."""
        self._log_refusal(order, reason)
        order.addinfo(reason=reason)
        order.reject()
        self.notify(order)
        self._ococheck(order)
        self._bracketize(order, cancel=True)

    def refuse_placed(
        self, owner: Any, data: Any, side: str, shares: float, reason: str
    ) -> bt.Order | None:
        """An order refused when the strategy places it (its sizing: a buy under the
        board's minimum, ``below minimum order``; a buy with no cash left for it, ``cash``):
        logged, and for a strategy that reads notifications an order (``side`` "buy" or
        "sell", of ``shares``) rejected with the reason, delivered at the next notification
        (the next bar, as backtrader delivers its own refusals). None for other strategies."""
        self.log_refusal(data._name, side, shares, reason)
        if not listens(owner):
            return None
        order = self.new_order(BuyOrder if side == "buy" else SellOrder, owner, data, shares)
        order.addinfo(reason=reason)
        order.reject()
        self.notify(order)
        return order

    def _log_refusal(self, order: bt.Order, reason: str) -> None:
        side = "buy" if order.isbuy() else "sell"
        self.log_refusal(order.data._name, side, abs(order.created.size), reason)

    def log_refusal(self, code: str, side: str, shares: float, reason: str) -> None:
        """Record an order that was refused (by the market when it would fill, or by the
        sizing when it was placed: ``below minimum order``, ``cash``), dated today."""
        self.refusals.append(
            {"date": self._today, "code": code, "side": side, "size": shares, "reason": reason}
        )

    # -- bookkeeping --------------------------------------------------------------
    def notify(self, order: bt.Order) -> None:
        if order.status == bt.Order.Margin:
            self._log_refusal(order, CASH)
            order.addinfo(reason=CASH)
        elif order.status == bt.Order.Completed:
            executed = order.executed
            parts = self._costs(order.data, executed.size, executed.price)
            self.fills.append(
                self._fill_record(order.data, executed.size, executed.price, parts, "")
            )
            self._traded(order.data, executed.size)
            self.sync(order.data)
        super().notify(order)

    def _fill_record(
        self, data: Any, size: float, price: float, costs: TradeCosts, note: str
    ) -> dict[str, Any]:
        """A row of the trades: ``costs`` is every cost of the fill in yuan (commission,
        transfer fee, stamp duty, and the dividend tax a sale settles, each also in its
        own column)."""
        return {
            "date": self._today,
            "code": data._name,
            "side": "buy" if size > 0 else "sell",
            "size": abs(size),
            "price": price,
            "value": abs(size) * price,
            "costs": costs.total,
            "commission": costs.commission,
            "transfer_fee": costs.transfer_fee,
            "stamp_duty": costs.stamp_duty,
            "dividend_tax": 0.0,
            "note": note,
        }
