"""The individual dividend tax on A shares (个人股息红利所得税) by the rules of a dividend's
record date and the holder's holding period: one table, ``dividend_tax.csv`` beside this
module, one row per regime with its source (财税〔2005〕102号, 〔2012〕85号, 〔2015〕101号).

Each regime gives the effective rate for a holding of up to one month, up to one year and
over one year, and the rate the company withholds when it pays. What the sale settles is
the rate of the holding period less what was withheld (never negative); under the 2005
regime both are 10 %, so nothing is settled at the sale.

The holding period (85号 art. 1 and 8, kept by 101号) runs from the day the shares were
acquired to the day before the sale; one month is "from a day of a month to the day before
the same day of the next month", one year likewise, so a holding is *up to one month* when
the sale date is at most the acquisition date plus one calendar month (bought 06-17, sold
07-17: up to one month; sold 07-18: more). A month end without the same day in the next
month (01-31) ends on that month's last day (pandas' DateOffset): 85号 does not say.

What is taxed: cash dividends before tax, and bonus shares (送股, from retained earnings)
at their par value (国税发〔1997〕198号; 国家税务总局 2011 announcement on 国税发〔1994〕89号 art.
11); shares transferred from the capital reserve (转增) are not income (198号 art. 1).
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pandas as pd

TABLE = Path(__file__).with_name("dividend_tax.csv")
#: The holding periods of the tax, shortest first.
TIERS = ("up_to_month", "up_to_year", "over_year")


@dataclass(frozen=True)
class TaxRegime:
    """One row of the table: dividends whose record date is ``start`` or later (until the
    next row) are taxed at these effective rates (fractions of the income) by holding
    period, ``withheld`` of it when paid."""

    start: pd.Timestamp
    up_to_month: float
    up_to_year: float
    over_year: float
    withheld: float
    source: str

    def rate(self, acquired: pd.Timestamp, sold: pd.Timestamp) -> float:
        """The effective rate for shares acquired on ``acquired`` and sold on ``sold``."""
        return float(getattr(self, holding_tier(acquired, sold)))

    def due_at_sale(self, acquired: pd.Timestamp, sold: pd.Timestamp) -> float:
        """The rate the sale settles: that of the holding period less what was withheld."""
        return max(self.rate(acquired, sold) - self.withheld, 0.0)

    def label(self) -> str:
        return (
            f"record dates from {self.start.date()}: {self.up_to_month:.0%} up to a month, "
            f"{self.up_to_year:.0%} up to a year, {self.over_year:.0%} over a year held; "
            f"{self.withheld:.0%} withheld when paid"
        )


def holding_tier(acquired: pd.Timestamp, sold: pd.Timestamp) -> str:
    """``"up_to_month"``, ``"up_to_year"`` or ``"over_year"``: the holding period of shares
    acquired on ``acquired`` and sold on ``sold`` (see the module)."""
    if sold <= acquired + pd.DateOffset(months=1):
        return "up_to_month"
    if sold <= acquired + pd.DateOffset(years=1):
        return "up_to_year"
    return "over_year"


@cache
def tax_regimes() -> tuple[TaxRegime, ...]:
    """The table in date order. ValueError for a malformed row."""
    with TABLE.open(encoding="utf-8", newline="") as handle:
        rows = tuple(
            TaxRegime(
                start=pd.Timestamp(r["from"]),
                up_to_month=float(r["up_to_month"]),
                up_to_year=float(r["up_to_year"]),
                over_year=float(r["over_year"]),
                withheld=float(r["withheld"]),
                source=r["source"],
            )
            for r in csv.DictReader(handle)
        )
    for k, row in enumerate(rows):
        rates = (row.up_to_month, row.up_to_year, row.over_year, row.withheld)
        if not all(0 <= r <= 0.2 for r in rates) or (k and rows[k - 1].start >= row.start):
            raise ValueError(f"{TABLE}: a row the tax table cannot hold: {row}")
    return rows


def regime_on(record_date: pd.Timestamp) -> TaxRegime:
    """The regime of a dividend with this record date. KeyError before the table's first
    row (2005-06-13)."""
    found = None
    for row in tax_regimes():
        if row.start > record_date:
            break
        found = row
    if found is None:
        first = tax_regimes()[0].start.date()
        raise KeyError(
            f"no dividend tax rule for record date {record_date} (the table starts {first})"
        )
    return found
