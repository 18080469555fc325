"""Each A-share rule alone (quant.engine.validators): the reason it refuses an order, on
stand-ins for a feed's flags, an order and an account."""

from __future__ import annotations

from dataclasses import dataclass, field
from types import SimpleNamespace

import pytest

from quant.engine import Rules
from quant.engine.feeds import BUY_BLOCKED, LISTED, SELL_BLOCKED, TRADABLE, ArrayFeed
from quant.engine.validators import (
    BoardOrderSize,
    PriceLimit,
    Sellable,
    Trading,
    fill_checks,
)
from quant.market.rules import OrderSize

TRADING = TRADABLE | LISTED


class Feed:
    """Today's flags of a stock, read with the feed's own methods."""

    tradable = ArrayFeed.tradable
    listed = ArrayFeed.listed
    buy_blocked = ArrayFeed.buy_blocked
    sell_blocked = ArrayFeed.sell_blocked

    def __init__(self, flags: int) -> None:
        self.flags = [float(flags)]


@dataclass
class Account:
    held_shares: float = 0.0
    bought: float = 0.0
    not_listed: float = 0.0
    sizes: OrderSize = field(default_factory=lambda: OrderSize(100, 100))  # main board
    rules: Rules = field(default_factory=Rules)

    def order_size(self, data):
        return self.sizes

    def held(self, data):
        return self.held_shares

    def bought_today(self, data):
        return self.bought

    def locked(self, data):
        return self.not_listed


def order(shares: float, flags: int = TRADING):
    """An order of ``shares`` (> 0 buys, < 0 sells) on a stock with today's ``flags``."""
    return SimpleNamespace(data=Feed(flags), created=SimpleNamespace(size=shares))


@pytest.mark.parametrize(
    ("flags", "reason"), [(TRADING, None), (LISTED, "suspended"), (0, "not listed")]
)
def test_trading_needs_a_bar_with_volume(flags, reason):
    assert Trading().refusal(order(100, flags), Account()) == reason
    assert Trading().refusal(order(-100, flags), Account(held_shares=100)) == reason


@pytest.mark.parametrize(
    ("shares", "flags", "reason"),
    [
        (100, TRADING | BUY_BLOCKED, "limit-up"),
        (-100, TRADING | BUY_BLOCKED, None),  # selling into limit-up is allowed
        (-100, TRADING | SELL_BLOCKED, "limit-down"),
        (100, TRADING | SELL_BLOCKED, None),  # buying at limit-down is allowed
        (100, TRADING, None),
    ],
)
def test_price_limits_block_one_side(shares, flags, reason):
    assert PriceLimit().refusal(order(shares, flags), Account(held_shares=100)) == reason


@pytest.mark.parametrize(
    ("shares", "t_plus_one", "reason"),
    [
        (-700, True, None),  # 1,000 held, 300 bought today: 700 sellable
        (-800, True, "T+1"),
        (-800, False, None),
        (-1100, True, "more than held"),
        (-1100, False, "more than held"),
        (500, True, None),  # buys are not this rule's
    ],
)
def test_sellable_shares_under_t_plus_one(shares, t_plus_one, reason):
    account = Account(held_shares=1000, bought=300, rules=Rules(t_plus_one=t_plus_one))
    assert Sellable().refusal(order(shares), account) == reason


@pytest.mark.parametrize(
    ("shares", "reason"),
    [
        (-800, None),  # 1,100 held, 100 bonus shares not listed yet, 200 bought today
        (-1000, "T+1"),  # within the listed shares: what is missing was bought today
        (-1050, "not listed yet"),  # beyond them: the bonus shares
        (-1200, "more than held"),
    ],
)
def test_new_shares_are_not_sold_before_their_listing(shares, reason):
    account = Account(held_shares=1100, bought=200, not_listed=100)
    assert Sellable().refusal(order(shares), account) == reason


@pytest.mark.parametrize(
    ("sizes", "held", "shares", "reason"),
    [
        (OrderSize(100, 100), 0, 150, "order size"),
        (OrderSize(100, 100), 0, 200, None),
        (OrderSize(100, 100), 150, -50, None),  # the odd part of a lot, sold alone
        (OrderSize(100, 100), 150, -150, None),  # the whole position
        (OrderSize(100, 100), 1000, -50, "order size"),
        (OrderSize(200, 1), 0, 201, None),  # STAR: at least 200, then steps of 1
        (OrderSize(200, 1), 0, 199, "order size"),
        (OrderSize(200, 1), 150, -150, None),  # a balance under 200 sold whole
    ],
)
def test_the_boards_order_sizes(sizes, held, shares, reason):
    account = Account(held_shares=held, sizes=sizes)
    assert BoardOrderSize().refusal(order(shares), account) == reason


def test_the_checks_of_a_run_in_their_order():
    kinds = [type(check) for check in fill_checks(Rules(), frictionless=False)]
    assert kinds == [Trading, PriceLimit, Sellable, BoardOrderSize]
    no_limits = [type(check) for check in fill_checks(Rules(price_limits=False), False)]
    assert no_limits == [Trading, Sellable, BoardOrderSize]
    assert [type(check) for check in fill_checks(Rules(), frictionless=True)] == [Trading]
