"""NAV metrics on series computed by hand."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from quant.metrics.performance import (
    annual_turnover,
    annualized_return,
    calmar,
    drawdown,
    max_drawdown,
    sharpe,
    total_return,
    volatility,
)

# 1 -> 1.1 -> 0.99 -> 1.2 over two calendar years exactly (2014-01-01 .. 2016-01-01 = 730 days)
NAV = pd.Series(
    [1.0, 1.1, 0.99, 1.2],
    index=pd.to_datetime(["2014-01-01", "2014-06-01", "2015-03-01", "2016-01-01"]),
)


def test_total_and_annualized_return():
    assert total_return(NAV) == pytest.approx(0.2)
    assert annualized_return(NAV) == pytest.approx(1.2 ** (365.25 / 730) - 1)


def test_drawdown_is_the_fall_from_the_running_peak():
    assert drawdown(NAV).tolist() == pytest.approx([0.0, 0.0, 0.1, 0.0])
    assert max_drawdown(NAV) == pytest.approx(0.1)  # 1 - 0.99 / 1.1
    assert calmar(NAV) == pytest.approx(annualized_return(NAV) / 0.1)


def test_volatility_and_sharpe_from_daily_returns():
    returns = [0.1, 0.99 / 1.1 - 1, 1.2 / 0.99 - 1]
    mean = sum(returns) / 3
    std = math.sqrt(sum((r - mean) ** 2 for r in returns) / 2)
    assert volatility(NAV, 244) == pytest.approx(std * math.sqrt(244))
    assert sharpe(NAV, 244) == pytest.approx(mean / std * math.sqrt(244))
    assert sharpe(NAV, 244, risk_free=0.0244) == pytest.approx(
        (mean - 0.0001) / std * math.sqrt(244)
    )


def test_flat_series_has_no_sharpe_and_no_calmar():
    flat = pd.Series([1.0, 1.0, 1.0], index=pd.date_range("2014-01-01", periods=3))
    assert max_drawdown(flat) == 0.0
    assert math.isnan(sharpe(flat, 244)) and math.isnan(calmar(flat))


def test_turnover():
    equity = pd.Series([100.0, 100.0], index=pd.to_datetime(["2014-01-01", "2015-01-01"]))
    # bought 100 and sold 100 over one year on 100 of equity: one-sided turnover 1.0 a year
    assert annual_turnover(200.0, equity) == pytest.approx(365.25 / 365)
