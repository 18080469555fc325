"""The A-share market's rules for an order, one small check per rule, each giving the
reason it refuses an order (or None): the model is rqalpha's validators
(rqalpha/mod/rqalpha_mod_sys_accounts/position_validator.py), one class per rule that
says no with a reason and is testable alone.

The broker (quant.engine.broker) runs :func:`fill_checks` on every order when it would
fill (the bar after it was placed), in this order, and refuses it with the first reason:

- :class:`Trading`: no bar with volume today -> ``suspended`` (``not listed`` before the
  stock's first bar);
- :class:`PriceLimit`: a buy at limit-up or a sell at limit-down at the fill price ->
  ``limit-up`` / ``limit-down``;
- :class:`Sellable`: a sell of shares bought today (T+1), of new shares not listed yet
  (bonus, transferred or rights shares before their listing date) or of more than is held
  -> ``T+1`` / ``not listed yet`` / ``more than held``;
- :class:`BoardOrderSize`: a size the stock's board does not allow -> ``order size``.

Cash is checked earlier, when the day's orders are submitted, in the order they were
placed, by backtrader's pseudo-execution (quant.engine.fastpath.FastBroker.check_submitted):
an order the cash left cannot pay for is refused as :data:`CASH`. Strategies' sizing
refuses an opening buy under the board's minimum order as :data:`BELOW_MINIMUM` when it is
placed. Every refusal is logged by the broker and delivered to the strategy's
``notify_order`` (status Rejected, or Margin for cash, with ``order.info.reason``).
"""

from __future__ import annotations

from typing import Any, Protocol

import backtrader as bt

from quant.engine.config import Rules
from quant.market.rules import OrderSize

#: The reason of an order the cash cannot pay for (checked at submission).
CASH = "cash"
#: The reason of a buy sized under the board's minimum order (refused when placed).
BELOW_MINIMUM = "below minimum order"


class Account(Protocol):
    """What the checks read of the broker: the rules, today's order sizes of a feed's
    stock, the shares held, the shares bought today (filled this session) and the shares
    credited but not listed yet."""

    rules: Rules

    def order_size(self, data: Any) -> OrderSize: ...

    def held(self, data: Any) -> float: ...

    def bought_today(self, data: Any) -> float: ...

    def locked(self, data: Any) -> float: ...


class Check:
    """One market rule. :meth:`refusal` reads the order (backtrader's: its ``data``, a feed
    of quant.engine.feeds with today's flags, and ``created.size``: shares, > 0 buys,
    < 0 sells) and the account, and gives the reason it refuses the order now, or None."""

    def refusal(self, order: bt.Order, account: Account) -> str | None:
        raise NotImplementedError


class Trading(Check):
    """No trade without a bar with volume: a suspended stock (or one whose bars stopped)
    and a stock before its first bar cannot be traded (SSE/SZSE Trading Rules, 停牌)."""

    def refusal(self, order: bt.Order, account: Account) -> str | None:
        data = order.data
        if data.tradable():
            return None
        return "suspended" if data.listed() else "not listed"


class PriceLimit(Check):
    """No buy at limit-up, no sell at limit-down, at the price the order fills at (the
    open, or the close under ``rules.fill_at = "close"``): the day's limit prices come from
    the board's rate (quant/market/board_rules.csv, its sources there), and an order
    beyond them cannot match (SSE/SZSE Trading Rules, 涨跌幅限制)."""

    def refusal(self, order: bt.Order, account: Account) -> str | None:
        data = order.data
        if order.created.size > 0:
            return "limit-up" if data.buy_blocked() else None
        return "limit-down" if data.sell_blocked() else None


class Sellable(Check):
    """A sell of at most the shares held, less those bought today under T+1 (SSE/SZSE
    Trading Rules 3.1.4: shares bought on a day can be sold from the next trading day) and
    those credited by a corporate action but not listed yet (bonus and transferred shares
    trade from their listing date, 红股上市日; rights shares from theirs, 配股上市日)."""

    def refusal(self, order: bt.Order, account: Account) -> str | None:
        size = order.created.size
        if size > 0:
            return None
        data = order.data
        held = account.held(data)
        bought = account.bought_today(data) if account.rules.t_plus_one else 0.0
        locked = account.locked(data)
        if -size <= held - bought - locked + 1e-9:
            return None
        if -size > held + 1e-9:
            return "more than held"
        return "T+1" if -size <= held - locked + 1e-9 else "not listed yet"


class BoardOrderSize(Check):
    """An order size the stock's board allows on the day (quant.market.rules.OrderSize:
    lots of 100 on the main board and ChiNext, at least 200 then steps of 1 on STAR, at
    least 100 then steps of 1 in Beijing; a balance under the minimum sold whole)."""

    def refusal(self, order: bt.Order, account: Account) -> str | None:
        size = order.created.size
        sizes = account.order_size(order.data)
        if size > 0:
            return None if sizes.is_valid_buy(size) else "order size"
        return None if sizes.is_valid_sell(-size, account.held(order.data)) else "order size"


def fill_checks(rules: Rules, frictionless: bool) -> tuple[Check, ...]:
    """The checks an order passes when it would fill, in order: all of them, less the
    price limits when ``rules.price_limits`` is off; only :class:`Trading` for a
    frictionless reference (the benchmark index)."""
    if frictionless:
        return (Trading(),)
    limits = (PriceLimit(),) if rules.price_limits else ()
    return (Trading(), *limits, Sellable(), BoardOrderSize())
