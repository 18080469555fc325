"""What an order costs: commission (with a minimum per order, ``Rules.commission``), and
the fees and taxes of the day it fills on the stock's exchange: transfer fee on both sides,
stamp duty on sells (both sides before 2008-09-19), each from the dated table
quant/market/fee_rules.csv (quant.market.fees, a source per row), or one rate a study
sets in ``Rules.transfer_fee`` / ``Rules.stamp_duty``. The dividend tax settled at a sale
is not an order's cost here: quant.engine.actions adds it after the session."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import backtrader as bt
import pandas as pd

from quant.engine.config import Rules
from quant.market.fees import fee_on


@dataclass(frozen=True)
class DayRates:
    """The fees of one exchange on one day: transfer fee ``transfer`` of the value (or of
    the par value, ``transfer_on_par``), stamp duty ``stamp`` of the value on sells (and
    buys too with ``stamp_both_sides``)."""

    transfer: float
    transfer_on_par: bool
    stamp: float
    stamp_both_sides: bool


@dataclass(frozen=True)
class TradeCosts:
    """One order's costs, in yuan."""

    commission: float
    transfer_fee: float
    stamp_duty: float

    @property
    def total(self) -> float:
        return self.commission + self.transfer_fee + self.stamp_duty


def day_rates(rules: Rules, exchange: str, date: pd.Timestamp) -> DayRates:
    """The rates in force on ``exchange`` (SH, SZ, BJ) on ``date``: the fee table's rows,
    or the rules' own rate where a study set one."""
    if rules.transfer_fee == "table":
        row = fee_on("transfer_fee", exchange, date)
        transfer, on_par = row.rate, row.base == "par"
    else:
        transfer, on_par = float(rules.transfer_fee), False
    if rules.stamp_duty == "table":
        row = fee_on("stamp_duty", exchange, date)
        stamp, both = row.rate, row.sides == "both"
    else:
        stamp, both = rules.stamp_duty_rate(date), False
    return DayRates(transfer, on_par, stamp, both)


def trade_costs(
    rules: Rules, size: float, price: float, rates: DayRates, par: float = 1.0
) -> TradeCosts:
    """All costs of one order: ``size`` > 0 buys, < 0 sells (shares), ``price`` in yuan,
    ``rates`` the day's (:func:`day_rates`), ``par`` the par value of a share in yuan."""
    value = abs(size) * price
    if value == 0:
        return TradeCosts(0.0, 0.0, 0.0)
    commission = max(value * rules.commission, rules.min_commission)
    transfer = (abs(size) * par if rates.transfer_on_par else value) * rates.transfer
    stamp = value * rates.stamp if size < 0 or rates.stamp_both_sides else 0.0
    return TradeCosts(commission, transfer, stamp)


class AShareCommission(bt.CommInfoBase):
    """backtrader's commission scheme for :func:`trade_costs`: ``rules`` the run's Rules,
    ``rates`` a function giving today's :class:`DayRates` of the stocks' exchange (kept by
    the broker), ``par`` their par value. One object per exchange and par value, each
    stock's found by its name (the broker registers them)."""

    params = (
        ("stocklike", True),
        ("commtype", bt.CommInfoBase.COMM_PERC),
        ("percabs", True),
        ("rules", None),
        ("rates", None),
        ("par", 1.0),
    )

    def _getcommission(self, size: float, price: float, pseudoexec: bool) -> float:
        rates: Callable[[], DayRates] = self.p.rates
        return trade_costs(self.p.rules, size, price, rates(), self.p.par).total


class FrictionlessCommission(bt.CommInfoBase):
    """For reference strategies (the benchmark index): no costs."""

    params = (("stocklike", True), ("commtype", bt.CommInfoBase.COMM_PERC), ("percabs", True))
