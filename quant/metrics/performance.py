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


def sessions_per_year_of(dates: pd.DatetimeIndex) -> float:
    """Sessions per year of calendar time over ``dates`` (a run's sessions, day 0 first):
    daily returns (sessions - 1) over the years between the first and the last; what
    volatility and Sharpe are annualised with (quant.market.TradingCalendar). ValueError
    with fewer than two sessions."""
    years = (dates[-1] - dates[0]).days / DAYS_PER_YEAR if len(dates) > 1 else 0.0
    if years <= 0:
        raise ValueError("sessions per year need at least two sessions")
    return (len(dates) - 1) / years


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


# -- the tear sheet's series (quant.report.html) ---------------------------------------------
def period_returns(nav: pd.Series, freq: str) -> pd.Series:
    """Returns from one period's last value to the next (``freq``: ``"M"`` months, ``"Y"``
    years; the first from day 0), indexed by the period (pandas Period)."""
    ends = nav.groupby(nav.index.to_period(freq)).last()
    start = nav.index[0].to_period(freq)
    points = pd.concat([pd.Series([nav.iloc[0]], index=[start - 1]), ends])
    returns = points.pct_change().iloc[1:]
    if len(nav.index) and nav.index[0] == nav.index[nav.index.to_period(freq) == start][-1]:
        returns = returns.iloc[1:]  # day 0 is its period's last value: nothing earned there
    return returns


def monthly_table(nav: pd.Series) -> pd.DataFrame:
    """Monthly returns as a table: one row per year, columns 1..12 (NaN outside the run)."""
    returns = period_returns(nav, "M")
    frame = pd.DataFrame(
        {"year": returns.index.year, "month": returns.index.month, "return": returns.to_numpy()}
    )
    table = frame.pivot(index="year", columns="month", values="return")
    return table.reindex(columns=range(1, 13))


def rolling_volatility(nav: pd.Series, sessions: int, sessions_per_year: float) -> pd.Series:
    """Annualised volatility of daily returns over the last ``sessions`` sessions (sample
    std, as :func:`volatility`); NaN until the window is full."""
    returns = daily_returns(nav)
    return returns.rolling(sessions).std(ddof=1) * math.sqrt(sessions_per_year)


def rolling_sharpe(nav: pd.Series, sessions: int, sessions_per_year: float) -> pd.Series:
    """Annualised Sharpe ratio (zero risk-free rate, as :func:`sharpe`) over the last
    ``sessions`` sessions; NaN until the window is full or where the returns are flat."""
    returns = daily_returns(nav)
    window = returns.rolling(sessions)
    std = window.std(ddof=1)
    return (window.mean() / std.where(std > 0)) * math.sqrt(sessions_per_year)


def drawdown_periods(nav: pd.Series, worst: int = 5) -> pd.DataFrame:
    """The ``worst`` drawdowns, deepest first: ``peak`` (the last high before the fall),
    ``trough``, ``recovery`` (the first close back at the peak's value; NaT if it never
    came back), ``depth`` (fall from the peak, a positive fraction), ``sessions_down``
    (peak to trough) and ``sessions`` (peak to recovery, or to the last session)."""
    falls = drawdown(nav).to_numpy()
    rows, start = [], None
    for k, fall in enumerate(np.append(falls, 0.0)):
        if fall > 0 and start is None:
            start = k - 1  # the peak: the session before the first fall
        elif fall <= 0 and start is not None:
            end = min(k, len(nav) - 1)
            trough = start + int(np.argmax(falls[start : end + 1]))
            recovered = k < len(nav)
            rows.append(
                {
                    "peak": nav.index[start],
                    "trough": nav.index[trough],
                    "recovery": nav.index[k] if recovered else pd.NaT,
                    "depth": float(falls[trough]),
                    "sessions_down": trough - start,
                    "sessions": (k if recovered else len(nav) - 1) - start,
                }
            )
            start = None
    columns = ["peak", "trough", "recovery", "depth", "sessions_down", "sessions"]
    table = pd.DataFrame(rows, columns=columns)
    return (
        table.sort_values("depth", ascending=False, kind="stable")
        .head(worst)
        .reset_index(drop=True)
    )


def turnover_series(traded: pd.Series, equity: pd.Series, freq: str = "M") -> pd.Series:
    """One-sided turnover per period (``freq``: ``"M"``): the value traded that period
    (bought + sold, yuan, indexed by date) / 2 over the period's mean equity; 0 in a period
    without trades."""
    periods = equity.index.to_period(freq)
    mean_equity = equity.groupby(periods).mean()
    value = traded.groupby(traded.index.to_period(freq)).sum() if len(traded) else traded
    return (value.reindex(mean_equity.index).fillna(0.0) / 2.0 / mean_equity).rename("turnover")
