"""A qlib data folder: qlib's own binary format of daily bars.

Sources: the qlib documentation, Data Layer (https://qlib.readthedocs.io/en/latest/component/data.html):
open, close, high and low are adjusted prices, ``volume`` is "the adjusted trading
volume", ``factor`` is "adjusted_price / original_price" ("``$close / $factor`` to get the
original close price"), and open, close, high, low, volume, money and factor are NaN while a
stock is suspended. The layout is the one ``scripts/dump_bin.py`` of microsoft/qlib writes:
``calendars/day.txt`` (one trading day a line, YYYY-MM-DD), ``instruments/all.txt``
(``SYMBOL<TAB>first day<TAB>last day``, symbols such as SH600000), and
``features/<symbol lower-cased>/<field>.day.bin``: little-endian float32, the calendar
index of the first value, then one value per calendar day from there
(``np.hstack([date_index, values]).astype("<f")``).

Mapping: raw price = adjusted price / factor, rounded to the fen (A-share prices move in
steps of 0.01 yuan; float32 leaves noise in the seventh digit; index levels are not
rounded). Volume (ReadOptions.qlib_volume): "adjusted", the default and qlib's documented
convention (its Yahoo collector stores volume / factor, scripts/data_collector/yahoo/
collector.py, ``YahooNormalize1d.adjusted_price``): raw shares = volume x factor, rounded
to whole shares; "raw": taken as shares traded (sets dumped from unadjusted volumes: which
a set holds differs between published sets, so check its notes). Amount: the ``amount``
field, else ``money``, taken as yuan (qlib documents no unit; the units check compares it
with the prices); without either it is approximated, as for any file without amount.
adj_factor = factor / the code's first factor, so that raw x adj_factor is back-adjusted
and equals raw on the code's first day. A day whose close is NaN has no bar (suspended).
Codes: SH600000 -> 600000.SH; instruments that are not A-share stocks by the securities
master (quant.market.securities; qlib's cn_data lists indices such as SH000300 among
them) are skipped with a warning, and reading indices keeps the indices only. Errors name the features folder and the line of calendars/day.txt.

Precision: float32 keeps about seven significant digits, so a raw volume of 50 million
shares is known to a few shares.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from quant.data.layouts.common import Layout, ReadOptions
from quant.data.validate import DataError, DataWarning, prepare_columns
from quant.market.rules import round_to_fen
from quant.market.securities import KIND_NAMES, classify

CALENDAR = Path("calendars") / "day.txt"
INSTRUMENTS = Path("instruments") / "all.txt"
FEATURES = Path("features")
PRICES = ("open", "high", "low", "close")
REQUIRED_FIELDS = (*PRICES, "volume", "factor")
AMOUNT_FIELDS = ("amount", "money")


def matches(path: Path, columns: frozenset[str] | None) -> bool:
    return columns is None and (path / CALENDAR).is_file() and (path / FEATURES).is_dir()


def read(path: Path, options: ReadOptions) -> list[pd.DataFrame]:
    if not matches(path, None):
        raise DataError(f"{path}: not a qlib data folder (no {CALENDAR} and {FEATURES}/)")
    calendar = _calendar(path / CALENDAR)
    symbols = _instruments(path / INSTRUMENTS)
    codes = [_code(symbol, path / INSTRUMENTS) for symbol in symbols]
    kinds = classify(codes)["kind"].to_numpy() if codes else np.array([])
    wanted = "index" if options.index else "stock"
    frames = []
    for symbol, code, kind in zip(symbols, codes, kinds):
        if kind == wanted:
            frame = _bars(path / FEATURES / symbol.lower(), code, calendar, options)
            if len(frame):
                frames.append(frame)
    skipped = [symbol for symbol, kind in zip(symbols, kinds) if kind != wanted]
    if skipped:
        hint = "" if options.index else " (import indices separately with --index)"
        warnings.warn(
            f"{path}: skipped {len(skipped)} instruments that are not {KIND_NAMES[wanted]} "
            f"({', '.join(skipped[:5])}{', ...' if len(skipped) > 5 else ''}){hint}",
            DataWarning,
            stacklevel=3,
        )
    if not frames:
        raise DataError(f"{path}: no instrument of {INSTRUMENTS} has bars")
    return frames


def _calendar(path: Path) -> pd.DatetimeIndex:
    lines = [line.strip() for line in path.read_text(encoding="utf-8").splitlines()]
    days = pd.to_datetime(pd.Series(lines), format="%Y-%m-%d", errors="coerce")
    bad = np.flatnonzero(days.isna().to_numpy())
    if len(bad):
        raise DataError(f"{path}, line {bad[0] + 1}: {lines[bad[0]]!r} is not a YYYY-MM-DD date")
    return pd.DatetimeIndex(days)


def _instruments(path: Path) -> list[str]:
    if not path.is_file():
        raise DataError(f"{path}: missing (the list of instruments of a qlib data folder)")
    lines = path.read_text(encoding="utf-8").splitlines()
    return [line.split("\t")[0].strip() for line in lines if line.strip()]


def _code(symbol: str, source: Path) -> str:
    exchange, digits = symbol[:2].upper(), symbol[2:]
    if exchange not in ("SH", "SZ", "BJ") or len(digits) != 6 or not digits.isdigit():
        raise DataError(f"{source}: instrument {symbol!r} is not SH/SZ/BJ + six digits")
    return f"{digits}.{exchange}"


def _field(path: Path, days: int) -> tuple[int, np.ndarray]:
    """(calendar index of the first value, values) of one .day.bin file."""
    data = np.fromfile(path, dtype="<f4")
    start = float(data[0]) if len(data) else -1.0
    if not (start >= 0 and start == int(start) and int(start) + len(data) - 1 <= days):
        raise DataError(
            f"{path}: not a qlib .day.bin file of this calendar (first value {start:g}, "
            f"{max(len(data) - 1, 0)} values, {days} calendar days)"
        )
    return int(start), data[1:].astype("float64")


def _bars(
    folder: Path, code: str, calendar: pd.DatetimeIndex, options: ReadOptions
) -> pd.DataFrame:
    names = [*REQUIRED_FIELDS, *(f for f in AMOUNT_FIELDS if (folder / f"{f}.day.bin").is_file())]
    missing = [f for f in REQUIRED_FIELDS if not (folder / f"{f}.day.bin").is_file()]
    if missing:
        raise DataError(
            f"{folder}: no {', '.join(f + '.day.bin' for f in missing)}"
            + (
                " (without factor the prices are adjusted and cannot be made raw)"
                if "factor" in missing
                else ""
            )
        )
    fields = {name: _field(folder / f"{name}.day.bin", len(calendar)) for name in names}
    start, close = fields["close"]
    rows = np.arange(start, start + len(close))

    def aligned(name: str) -> np.ndarray:
        first, values = fields[name]
        out = np.full(len(rows), np.nan)
        at = rows - first
        inside = (at >= 0) & (at < len(values))
        out[inside] = values[at[inside]]
        return out

    traded = ~np.isnan(close)
    factor = aligned("factor")[traded]
    bars = {name: aligned(name)[traded] / factor for name in PRICES}
    if not options.index:
        bars = {name: round_to_fen(values) for name, values in bars.items()}
    volume = aligned("volume")[traded]
    bars["volume"] = np.rint(volume * factor) if options.qlib_volume == "adjusted" else volume
    amount = next((f for f in AMOUNT_FIELDS if f in fields), None)
    if amount is not None:
        bars["amount"] = aligned(amount)[traded]
    first = factor[~np.isnan(factor)][:1]
    bars["adj_factor"] = factor / first[0] if len(first) else factor
    rows = rows[traded]
    frame = pd.DataFrame({"date": calendar[rows], "code": code, **bars, "_row": rows + 1})
    return prepare_columns(frame, str(folder)) if len(frame) else frame


LAYOUT = Layout(
    name="qlib",
    description="a qlib data folder (calendars/, instruments/, features/*.day.bin)",
    matches=matches,
    read=read,
)
