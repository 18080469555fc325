"""Performance of a net-value (NAV) series: plain functions on a pandas Series indexed by
date, so every figure in a report can be recomputed by hand.

Conventions: the first value is the starting point (day 0); daily returns are
close-to-close; annualised figures use calendar days (365.25 per year) for returns and the
trading calendar's sessions per year (``sessions_per_year``, about 243 on the SSE: see
quant.market.TradingCalendar.sessions_per_year) for volatility and Sharpe; the risk-free
rate is 0 unless given.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

DAYS_PER_YEAR = 365.25


def total_return(nav: pd.Series) -> float:
    return float(nav.iloc[-1] / nav.iloc[0] - 1.0)


def annualized_return(nav: pd.Series) -> float:
    """Geometric, over calendar days: (end / start) ** (365.25 / days) - 1."""
    days = (nav.index[-1] - nav.index[0]).days
    if days <= 0:
        return math.nan
    return float((nav.iloc[-1] / nav.iloc[0]) ** (DAYS_PER_YEAR / days) - 1.0)


def drawdown(nav: pd.Series) -> pd.Series:
    """Fall from the running peak at each date, as a positive fraction."""
    return 1.0 - nav / nav.cummax()


def max_drawdown(nav: pd.Series) -> float:
    return float(drawdown(nav).max())


def daily_returns(nav: pd.Series) -> pd.Series:
    return nav.pct_change().iloc[1:]


def volatility(nav: pd.Series, sessions_per_year: float) -> float:
    """Annualised standard deviation of daily returns (sample, ddof=1), as a fraction per
    year: std x sqrt(sessions_per_year)."""
    returns = daily_returns(nav)
    if len(returns) < 2:
        return math.nan
    return float(returns.std(ddof=1) * math.sqrt(sessions_per_year))


def sharpe(nav: pd.Series, sessions_per_year: float, risk_free: float = 0.0) -> float:
    """Annualised Sharpe ratio of daily returns over a yearly risk-free rate (a fraction
    per year, spread evenly over the sessions of a year)."""
    returns = daily_returns(nav) - risk_free / sessions_per_year
    std = returns.std(ddof=1)
    if len(returns) < 2 or not std > 0:
        return math.nan
    return float(returns.mean() / std * math.sqrt(sessions_per_year))


def calmar(nav: pd.Series) -> float:
    mdd = max_drawdown(nav)
    return annualized_return(nav) / mdd if mdd > 0 else math.nan


def annual_turnover(traded_value: float, equity: pd.Series) -> float:
    """One-sided turnover per year: (bought + sold) / 2 over the average equity, per year
    of calendar time."""
    years = (equity.index[-1] - equity.index[0]).days / DAYS_PER_YEAR
    if years <= 0:
        return math.nan
    return float(traded_value / 2.0 / equity.mean() / years)


def summarize(nav: pd.Series, sessions_per_year: float) -> dict[str, float]:
    """The NAV-only figures of a report row. ValueError if ``sessions_per_year`` is not
    positive (it comes from the run's trading calendar)."""
    if not sessions_per_year > 0:
        raise ValueError(f"sessions_per_year must be positive, not {sessions_per_year}")
    return {
        "annualized_return": annualized_return(nav),
        "max_drawdown": max_drawdown(nav),
        "total_return": total_return(nav),
        "volatility": volatility(nav, sessions_per_year),
        "sharpe": sharpe(nav, sessions_per_year),
        "calmar": calmar(nav),
    }


def finite_or_none(value: float) -> float | None:
    """JSON has no NaN: undefined figures become null."""
    return None if value is None or (isinstance(value, float) and not np.isfinite(value)) else value
