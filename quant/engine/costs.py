"""What an order costs: commission (with a minimum per order) and transfer fee on both
sides, stamp duty on sells at the rate in force on the trade date (quant.engine.config.Rules
holds the rates, with their sources)."""

from __future__ import annotations

from collections.abc import Callable

import backtrader as bt

from quant.engine.config import Rules


def trade_costs(rules: Rules, size: float, price: float, stamp_duty: float) -> float:
    """All costs of one order in yuan: size > 0 buys, size < 0 sells (shares), ``price``
    in yuan, ``stamp_duty`` the sell-side rate in force that day (Rules.stamp_duty_rate)."""
    value = abs(size) * price
    if value == 0:
        return 0.0
    cost = max(value * rules.commission, rules.min_commission) + value * rules.transfer_fee
    if size < 0:
        cost += value * stamp_duty
    return cost


class AShareCommission(bt.CommInfoBase):
    """backtrader's commission scheme for :func:`trade_costs`: ``rules`` the run's Rules,
    ``stamp_duty`` a function giving today's sell-side rate (kept by the broker)."""

    params = (
        ("stocklike", True),
        ("commtype", bt.CommInfoBase.COMM_PERC),
        ("percabs", True),
        ("rules", None),
        ("stamp_duty", None),
    )

    def _getcommission(self, size: float, price: float, pseudoexec: bool) -> float:
        stamp_duty: Callable[[], float] = self.p.stamp_duty
        return trade_costs(self.p.rules, size, price, stamp_duty())


class FrictionlessCommission(bt.CommInfoBase):
    """For reference strategies (the benchmark index): no costs."""

    params = (("stocklike", True), ("commtype", bt.CommInfoBase.COMM_PERC), ("percabs", True))
