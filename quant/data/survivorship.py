"""Survivorship, measured: how many of a universe's codes stop trading before the data's end,
against how many A-share companies the exchanges delisted over the same span.

A universe built from today's listed stocks (a vendor's current list, a qlib folder
dumped from it, akshare without the delisted codes) holds survivors only, and a backtest on
it overstates returns: the stocks that failed are missing. Over a span, the exchanges
delist a known share of the companies listed; a universe where far fewer codes end early
looks like survivors only. Codes that the source knows to be listed still at the end but
suspended there (a qlib folder pads them to the last day; a store's universe lists them)
are not counted as ending.

The counts (``delistings.csv``: at least this many A-share companies left the Shanghai and
Shenzhen exchanges in the year, delistings for any reason, mergers included) and the
number of companies listed (``listed_companies.csv``, SSE + SZSE, BSE from 2021) come from
the published figures below; where sources differ the lower count is kept, so the expected
share is a lower bound and the warning errs towards silence.

| key | source |
| --- | --- |
| scmp-2023-12 | South China Morning Post, 2023-12 ("China delistings rise to near record highs in 2023"), citing Dongguan Securities: fewer than 10 delistings a year from 2008 to 2018, one each in 2014 and 2016 (so at least 2 in the other years); 45 in 2023 to mid-December |
| cfbond-2018-07 | China Financial Bond news (cfbond.com), 2018-07-30: five delisting cases in 2018 by the end of July |
| yicai-2023-01 | Yicai Global, 2023-01-05, citing Wind: 43 in 2022, 20 in 2021, 16 in 2020, 10 in 2019 |
| caijing-wind-2024-12 | Wind data as reported in December 2024 (52 A-share companies delisted in 2024 to 18 December, 7 more than in 2023) |
| nbs-yearbook-2006 | National Bureau of Statistics, China Statistical Yearbook 2006, table 20-16: 1,381 listed companies (A and B shares) at the end of 2005 |
| chinanews-2022-11 | China News Service, 2022-11-22: the 5,000th A-share company listed that day; 2,000 to 3,000 took six years, 3,000 to 4,000 four, 4,000 to 5,000 two years and two months (the milestones dated back from 2022-11-22) |
| capco-2023-05 | China Association for Public Companies, statistics monthly report 2023-05: 4,195 listed at the end of 2020, 4,697 at the end of 2021 |
| capco-xinhua-2024-10 | Xinhua, 2024-10-04, citing the China Association for Public Companies: 5,358 listed at the end of August 2024 |
| capco-2025-06 | the China Association for Public Companies via Gelonghui, 2025-06-26: 5,422 listed at the end of May 2025 |

No count for 2025 or later was found: those years add nothing to the expected share.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).parent
#: Judge a universe only where it should hold at least this many delisted codes.
MIN_EXPECTED_CODES = 3.0
#: A universe is survivors only when fewer than this share of the expected codes end.
SURVIVOR_SHARE = 0.5


@cache
def delistings() -> pd.Series:
    """At least this many A-share companies delisted in the year (index: year)."""
    table = pd.read_csv(HERE / "delistings.csv")
    return table.set_index("year")["delisted_at_least"]


@cache
def listed_companies() -> pd.Series:
    """A-share companies listed on the date (index: dates)."""
    table = pd.read_csv(HERE / "listed_companies.csv", parse_dates=["date"])
    return table.set_index("date")["listed"]


def expected_delistings(start: pd.Timestamp, end: pd.Timestamp) -> tuple[float, float]:
    """(at least how many companies the exchanges delisted from ``start`` to ``end``,
    about how many were listed at ``end``): each year's count in proportion to the part
    of the year inside the span; the listed count interpolated between the published
    figures (held flat beyond them)."""
    counts = delistings()
    total = 0.0
    for year, count in counts.items():
        first, last = (
            pd.Timestamp(year=int(year), month=1, day=1),
            pd.Timestamp(year=int(year), month=12, day=31),
        )
        inside = (min(end, last) - max(start, first)).days + 1
        if inside > 0:
            total += count * inside / ((last - first).days + 1)
    listed = listed_companies()
    days = listed.index.to_numpy().astype("datetime64[D]").astype(float)
    at_end = float(np.interp(float(np.datetime64(end.date(), "D").astype(float)), days, listed))
    return total, at_end


@dataclass(frozen=True)
class Survivorship:
    """The measure for one panel: ``codes``; ``ended``: codes whose bars stop before the
    data's last session, suspended-at-end codes not counted; ``suspended``: codes listed
    but suspended at the end; ``delisted`` and ``listed``: the exchanges' count over the
    span (at least) and the companies listed at its end (about); ``start``, ``end``."""

    codes: int
    ended: int
    suspended: int
    delisted: float
    listed: float
    start: pd.Timestamp
    end: pd.Timestamp

    @property
    def share(self) -> float:
        """Share of the universe's codes that stop before the end."""
        return self.ended / self.codes if self.codes else 0.0

    @property
    def expected_share(self) -> float:
        """Share of the companies that existed over the span that were delisted (a lower
        bound)."""
        return self.delisted / (self.listed + self.delisted) if self.delisted else 0.0

    @property
    def judged(self) -> bool:
        """Whether the universe is large and long enough for delistings to be expected."""
        return self.codes * self.expected_share >= MIN_EXPECTED_CODES

    @property
    def survivors_only(self) -> bool:
        return self.judged and self.share < SURVIVOR_SHARE * self.expected_share

    def line(self) -> str:
        """The measure in words."""
        suspended = (
            f" ({self.suspended:,} more are suspended there, still listed)"
            if self.suspended
            else ""
        )
        return (
            f"{self.ended:,} of {self.codes:,} codes ({self.share:.1%}) stop trading before the "
            f"data's end{suspended}; the exchanges delisted at least {self.delisted:,.0f} A-share "
            f"companies over {self.start.date()} .. {self.end.date()}, at least "
            f"{self.expected_share:.1%} of the about {self.listed + self.delisted:,.0f} listed "
            "(quant/data/delistings.csv)"
        )

    def warning(self) -> str | None:
        """The warning for a universe that looks like survivors only, or None."""
        if not self.survivors_only:
            return None
        return (
            f"the universe looks like survivors only: {self.line()}; backtests on it leave out "
            "the stocks that failed and overstate returns"
        )


def measure(
    last_bar_row: np.ndarray, dates: pd.DatetimeIndex, codes: pd.Index, suspended: tuple[str, ...]
) -> Survivorship:
    """The measure for a universe of ``codes`` whose bars end on ``last_bar_row`` of the
    sessions ``dates``; ``suspended``: codes known to be listed but suspended at the end."""
    ending = last_bar_row < len(dates) - 1
    suspended_set = set(suspended)
    held = np.array([code in suspended_set for code in codes], dtype=bool)
    delisted, listed = expected_delistings(dates[0], dates[-1])
    return Survivorship(
        codes=len(codes),
        ended=int((ending & ~held).sum()),
        suspended=int((ending & held).sum()),
        delisted=delisted,
        listed=listed,
        start=dates[0],
        end=dates[-1],
    )
