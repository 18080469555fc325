"""The dated fees and taxes of a trade, by exchange: one table, ``fee_rules.csv`` beside this
module, one row per fee, exchange and date from which the row applies (until the next row of
the same fee and exchange), each with its source. quant.engine.costs reads it for every
fill; the report names the rows a run applied.

- ``stamp_duty`` (印花税): exchange ``*`` (all), on the traded value, on the seller only
  from 2008-09-19 (both sides before).
- ``transfer_fee`` (过户费, CSDC's): per exchange (SH, SZ, BJ), on the traded value, or on
  the traded par value (``base = par``: Shanghai before 2015-08-01; par 1 yuan but for the
  A shares of ``par_values.csv``).

The exchanges' handling fee (经手费) and the CSRC's regulatory fee (证管费) are not rows:
brokers bill them inside the commission (``Rules.commission``, quant.engine.config), so the
commission a user sets must include them (their history: docs/corporate_actions.md).
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pandas as pd

TABLE = Path(__file__).with_name("fee_rules.csv")
PAR_TABLE = Path(__file__).with_name("par_values.csv")
#: The par value of an A share, in yuan, unless par_values.csv says otherwise.
PAR_VALUE = 1.0
FEES = ("stamp_duty", "transfer_fee")
EXCHANGES = ("SH", "SZ", "BJ")


@dataclass(frozen=True)
class FeeRule:
    """One row of the table: from ``start`` on, ``fee`` on ``exchange`` (``*``: every one)
    is ``rate`` times the traded value (``base = "value"``) or the traded par value
    (``"par"``), charged to both sides or the seller only (``sides``: ``"both"``,
    ``"sell"``)."""

    fee: str
    exchange: str
    start: pd.Timestamp
    rate: float
    base: str
    sides: str
    source: str

    def label(self) -> str:
        """The row in a few words, for reports: ``SH from 2015-08-01: 0.02 per mille of
        value, both sides``."""
        where = "every exchange" if self.exchange == "*" else self.exchange
        return (
            f"{where} from {self.start.date()}: {self.rate * 1000:g} per mille of "
            f"{'par value' if self.base == 'par' else 'value'}, "
            f"{'both sides' if self.sides == 'both' else 'seller only'}"
        )


@cache
def fee_rules() -> dict[tuple[str, str], tuple[FeeRule, ...]]:
    """The table, per (fee, exchange) in date order. ValueError for a malformed row (the
    table ships with the package: a test reads it)."""
    with TABLE.open(encoding="utf-8", newline="") as handle:
        rows = [
            FeeRule(
                fee=r["fee"],
                exchange=r["exchange"],
                start=pd.Timestamp(r["from"]),
                rate=float(r["rate"]),
                base=r["base"],
                sides=r["sides"],
                source=r["source"],
            )
            for r in csv.DictReader(handle)
        ]
    table: dict[tuple[str, str], list[FeeRule]] = {}
    for k, row in enumerate(rows, start=2):
        if (
            row.fee not in FEES
            or row.exchange not in (*EXCHANGES, "*")
            or row.base not in ("value", "par")
            or row.sides not in ("both", "sell")
            or not 0 <= row.rate < 0.01
            or not row.source
        ):
            raise ValueError(f"{TABLE}, line {k}: a row the fee table cannot hold: {row}")
        mine = table.setdefault((row.fee, row.exchange), [])
        if mine and mine[-1].start >= row.start:
            raise ValueError(f"{TABLE}, line {k}: rows of {row.fee} {row.exchange} out of order")
        mine.append(row)
    return {key: tuple(rows) for key, rows in table.items()}


def fee_on(fee: str, exchange: str, date: pd.Timestamp) -> FeeRule:
    """The row of ``fee`` in force on ``exchange`` on ``date`` (a row for every exchange,
    ``*``, serves any). KeyError for an unknown fee or exchange or a date before the
    fee's first row there."""
    rows = fee_rules().get((fee, exchange)) or fee_rules().get((fee, "*"))
    if rows is None:
        raise KeyError(f"no {fee} rule for exchange {exchange!r}")
    date = pd.Timestamp(date)
    found = None
    for row in rows:
        if row.start > date:
            break
        found = row
    if found is None:
        raise KeyError(f"no {fee} rule on {exchange} before {rows[0].start.date()} (date {date})")
    return found


def rules_between(
    fee: str, exchange: str, first: pd.Timestamp, last: pd.Timestamp
) -> list[FeeRule]:
    """The rows of ``fee`` on ``exchange`` in force on some day of ``first .. last``."""
    rows = fee_rules().get((fee, exchange)) or fee_rules().get((fee, "*")) or ()
    return [
        row
        for k, row in enumerate(rows)
        if row.start <= last and (k + 1 == len(rows) or rows[k + 1].start > first)
    ]


@cache
def par_values() -> dict[str, tuple[float, str]]:
    """Codes whose A shares have a par value other than 1 yuan: code -> (par, source)."""
    with PAR_TABLE.open(encoding="utf-8", newline="") as handle:
        return {r["code"]: (float(r["par"]), r["source"]) for r in csv.DictReader(handle)}


def par_value(code: str) -> float:
    """The par value of one of ``code``'s shares, in yuan (1 unless par_values.csv lists
    the code)."""
    return par_values().get(code, (PAR_VALUE, ""))[0]


def exchange_of(code: str) -> str:
    """SH, SZ or BJ, from a tidy code (600000.SH)."""
    return code.rsplit(".", 1)[-1]
