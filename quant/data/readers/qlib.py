"""A qlib data folder, as qlib writes it and as published sets hold it.

Sources: the qlib documentation, Data Layer (https://qlib.readthedocs.io/en/latest/component/data.html):
open, close, high and low are adjusted prices, ``volume`` is "the adjusted trading
volume", ``factor`` is "adjusted_price / original_price" ("``$close / $factor`` to get the
original close price"), and the fields are NaN while a stock is suspended. The layout is
the one ``scripts/dump_bin.py`` of microsoft/qlib writes: ``calendars/day.txt`` (one
trading day a line, YYYY-MM-DD), ``instruments/all.txt`` (``SYMBOL<TAB>first day<TAB>last
day``, symbols such as SH600000), and ``features/<symbol>/<field>.day.bin``: little-endian
float32, the calendar index of the first value, then one value per calendar day from there
to the instrument's last day (``np.hstack([date_index, values]).astype("<f")``, the source
rows reindexed to the calendar: a day without a row is NaN). dump_bin lower-cases the
folder names; published sets also come with upper-case ones (SH600000): either is found.

Suspended days: besides NaN days, published sets pad suspensions with flat bars (open =
high = low = close = the last close, volume zero or NaN), as Yahoo answers for a suspended
Chinese stock and qlib's Yahoo collector keeps them (scripts/data_collector/yahoo/
collector.py, ``YahooNormalize.normalize_yahoo``: "When volume is 0 or missing it represents
no trade that day; keep price columns intact"). Such a day is no bar: it is dropped as a
suspension and counted in the notes. A code padded up to the data's last day is still
listed there (suspended at the end, not delisted).

Mapping: raw price = adjusted price / factor, rounded to the fen (A-share prices move in
steps of 0.01 yuan; float32 leaves noise in the seventh digit; index levels are not
rounded). adj_factor = factor / the code's first factor, so that raw x adj_factor is
back-adjusted and equals raw on the code's first day. Amount: the ``amount`` field, else
``money``, taken as yuan (qlib documents no unit; the units check compares it with the
prices); without either it is approximated, as for any source without amount. Codes:
SH600000 -> 600000.SH; instruments that are not A-share stocks by the securities master
(quant.market.securities; qlib's cn_data lists indices such as SH000300 among them) are
skipped with a warning, and reading indices keeps the indices only. Errors name the
instrument's folder and the line of calendars/day.txt.

Volume: qlib's documentation calls it adjusted (its Yahoo collector stores raw volume /
factor: ``YahooNormalize1d.adjusted_price``), other published sets dump raw shares. Which a
folder holds is measured, not assumed (:func:`measure_volume`): at a bonus issue or a split
the turnover in yuan carries on, so a raw share volume jumps by the factor's ratio while an
adjusted one carries on; and where an amount is stored, amount / volume is the raw price
for raw volumes, raw price x factor for adjusted ones. The reader uses what it measured,
says so and how sure, and refuses to guess when the evidence is weak unless the volume is
named (ReadOptions.qlib_volume, ``--qlib-volume``).

Precision: float32 keeps about seven significant digits, so a raw volume of 50 million
shares is known to a few shares.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from quant.data.errors import DataError, DataWarning
from quant.data.readers.base import KEY_ROWS, PIECE_ROWS, Reader, ReadOptions
from quant.data.validate import prepare_columns
from quant.market.rules import round_to_fen
from quant.market.securities import KIND_NAMES, classify

CALENDAR = Path("calendars") / "day.txt"
INSTRUMENTS = Path("instruments") / "all.txt"
FEATURES = Path("features")
PRICES = ("open", "high", "low", "close")
REQUIRED_FIELDS = (*PRICES, "volume", "factor")
AMOUNT_FIELDS = ("amount", "money")
#: float32 keeps about seven significant digits: stored values this close are equal.
SAME = 1e-6
#: A factor step of at least this ratio is a bonus issue or a split (cash dividends move
#: the factor by a few per cent), whose day tells raw volumes from adjusted ones.
EX_RIGHTS_RATIO = 1.1
#: Traded days before and after an ex-rights day whose median volumes are compared.
VOLUME_WINDOW = 5
#: Bars whose factor lies this far from 1 tell raw from adjusted volume by amount / volume.
AMOUNT_FACTOR = 1.2
#: amount / volume within this of the price it should be counts as a match.
AMOUNT_MATCH = 0.05
#: The least evidence a measured volume convention rests on (ex-rights days, or bars with
#: an amount), the share of bars that must agree, and how many standard errors the
#: volume's response to ex-rights days must lie from halfway (0.5) between raw (1) and
#: adjusted (0).
MIN_EVIDENCE = 3
AGREEMENT = 0.9
SIGMAS = 3.0


def matches(path: Path, columns: frozenset[str] | None) -> bool:
    return columns is None and (path / CALENDAR).is_file() and (path / FEATURES).is_dir()


DESCRIPTION = "a qlib data folder (calendars/, instruments/, features/*.day.bin)"


@dataclass
class Evidence:
    """What the bars say about the volume convention: for each ex-rights day, the log of
    the factor's step (x) and of the volume's (y); and the bars whose amount / volume
    matched the raw price (``raw``) or raw price x factor (``adjusted``)."""

    x: list[float] = field(default_factory=list)
    y: list[float] = field(default_factory=list)
    raw: int = 0
    adjusted: int = 0
    factor_moves: bool = False  # some factor differs from 1: the conventions differ


class QlibReader(Reader):
    """A qlib data folder (see the module's docstring)."""

    def __init__(self, paths: Sequence[Path], options: ReadOptions | None = None) -> None:
        super().__init__()
        if len(paths) != 1:
            raise DataError("a qlib source is one folder (the one holding calendars/)")
        self.root = Path(paths[0])
        self.name = str(self.root)
        self.options = options or ReadOptions()
        if not matches(self.root, None):
            raise DataError(f"{self.root}: not a qlib data folder (no {CALENDAR} and {FEATURES}/)")
        self.calendar = _calendar(self.root / CALENDAR)
        symbols = _instruments(self.root / INSTRUMENTS)
        codes = [_code(symbol, self.root / INSTRUMENTS) for symbol in symbols]
        kinds = classify(codes)["kind"].to_numpy() if codes else np.array([])
        wanted = "index" if self.options.index else "stock"
        self.instruments = [(s, c) for s, c, k in zip(symbols, codes, kinds) if k == wanted]
        skipped = [s for s, k in zip(symbols, kinds) if k != wanted]
        if skipped:
            hint = "" if self.options.index else " (import indices separately with --index)"
            warnings.warn(
                f"{self.root}: skipped {len(skipped)} instruments that are not "
                f"{KIND_NAMES[wanted]} ({', '.join(skipped[:5])}"
                f"{', ...' if len(skipped) > 5 else ''}){hint}",
                DataWarning,
                stacklevel=3,
            )
        if not self.instruments:
            raise DataError(f"{self.root}: no instrument of {INSTRUMENTS} has bars")
        features = self.root / FEATURES
        self.folders = {p.name.lower(): p for p in features.iterdir() if p.is_dir()}
        self.volume: str | None = None
        self.optional = {"adj_factor"}

    # -- the first pass: keys, padding, the volume convention --------------------------

    def keys(self, codes: frozenset[str] | None = None) -> Iterator[pd.DataFrame]:
        evidence, padded, padded_codes = Evidence(), 0, 0
        ends: dict[str, int] = {}
        batch = _Batch(self)
        for symbol, code in self._wanted(codes):
            series = self._series(symbol, code)
            if series is None:
                continue
            rows, fields, kept = series
            present = ~np.isnan(fields["close"])
            pads = int(present.sum() - kept.sum())
            padded, padded_codes = padded + pads, padded_codes + bool(pads)
            ends[code] = int(rows[present][-1]) if present.any() else -1
            _gather(evidence, {name: values[kept] for name, values in fields.items()})
            batch.add(code, symbol, rows[kept], {})
            if batch.size >= KEY_ROWS:
                yield batch.frame()
        if batch.size:
            yield batch.frame()
        last = max(ends.values(), default=-1)
        self.about.listed_at_end |= {code for code, end in ends.items() if end == last >= 0}
        if padded:
            self.about.notes.append(
                f"qlib: {padded:,} padded suspended days of {padded_codes:,} codes (flat "
                "bars at the last close with zero or NaN volume) dropped as suspensions"
            )
        if not self.options.index:
            self.volume, note = decide_volume(evidence, self.options.qlib_volume, self.root)
            self.about.notes.append(note)
        if "amount" not in self.optional:
            self.about.approximated.add("amount")

    def _wanted(self, codes: frozenset[str] | None) -> list[tuple[str, str]]:
        return [(s, c) for s, c in self.instruments if codes is None or c in codes]

    def _series(
        self, symbol: str, code: str
    ) -> tuple[np.ndarray, dict[str, np.ndarray], np.ndarray] | None:
        """An instrument's calendar rows, its fields on them (float64), and which rows are
        bars (not NaN, not padding); None for an instrument without any value."""
        folder = self.folders.get(symbol.lower())
        if folder is None:
            raise DataError(
                f"{self.root / FEATURES / symbol.lower()}: no folder for instrument {symbol} "
                f"of {INSTRUMENTS} (looked for {symbol.lower()} and {symbol.upper()})"
            )
        names = [
            *REQUIRED_FIELDS,
            *(f for f in AMOUNT_FIELDS if (folder / f"{f}.day.bin").is_file()),
        ]
        missing = [f for f in REQUIRED_FIELDS if not (folder / f"{f}.day.bin").is_file()]
        if missing:
            why = (
                ": qlib stores adjusted prices (original x factor), which cannot be made raw "
                "without it"
                if "factor" in missing
                else ""
            )
            raise DataError(f"{folder}: no {', '.join(f + '.day.bin' for f in missing)}{why}")
        stored = {name: _field(folder / f"{name}.day.bin", len(self.calendar)) for name in names}
        start, close = stored["close"]
        if not len(close):
            return None
        rows = np.arange(start, start + len(close))
        fields = {name: _aligned(rows, *stored[name]) for name in names}
        amount = next((f for f in AMOUNT_FIELDS if f in fields), None)
        if amount is not None:
            fields["amount"] = fields.pop(amount)
            self.optional.add("amount")
        return rows, fields, _traded(fields)

    # -- the second pass: the bars -----------------------------------------------------

    def pieces(self, codes: frozenset[str] | None = None) -> Iterator[pd.DataFrame]:
        if self.volume is None and not self.options.index:
            for _ in self.keys(codes):  # the first pass measures the volume convention
                pass
        batch = _Batch(self)
        for symbol, code in self._wanted(codes):
            series = self._series(symbol, code)
            if series is None or not series[2].any():
                continue
            rows, fields, kept = series
            batch.add(code, symbol, rows[kept], self._bars(fields, kept))
            if batch.size >= PIECE_ROWS // 2:
                yield prepare_columns(batch.frame(), self.name)
        if batch.size:
            yield prepare_columns(batch.frame(), self.name)

    def _bars(self, fields: dict[str, np.ndarray], kept: np.ndarray) -> dict[str, np.ndarray]:
        factor = fields["factor"][kept]
        bars = {name: fields[name][kept] / factor for name in PRICES}
        if not self.options.index:
            bars = {name: round_to_fen(values) for name, values in bars.items()}
        volume = fields["volume"][kept]
        bars["volume"] = np.rint(volume * factor) if self.volume == "adjusted" else volume
        if "amount" in fields:
            bars["amount"] = fields["amount"][kept]
        first = factor[~np.isnan(factor)][:1]
        bars["adj_factor"] = factor / first[0] if len(first) else factor
        return bars


class _Batch:
    """Instruments' rows gathered into one frame: arrays joined once, codes and folders
    categorical (a string per row for millions of rows would cost more than the bars)."""

    def __init__(self, reader: QlibReader) -> None:
        self.reader = reader
        self.rows: list[np.ndarray] = []
        self.values: list[dict[str, np.ndarray]] = []
        self.codes: list[str] = []
        self.folders: list[str] = []
        self.size = 0

    def add(self, code: str, symbol: str, rows: np.ndarray, values: dict[str, np.ndarray]) -> None:
        self.rows.append(rows)
        self.values.append(values)
        self.codes.append(code)
        self.folders.append(str(self.reader.folders[symbol.lower()]))
        self.size += len(rows)

    def frame(self) -> pd.DataFrame:
        rows = np.concatenate(self.rows)
        which = np.repeat(np.arange(len(self.codes)), [len(r) for r in self.rows])
        columns: dict[str, object] = {
            "date": self.reader.calendar.to_numpy()[rows],
            "code": pd.Categorical.from_codes(which, categories=pd.Index(self.codes)),
        }
        for name in self.values[0]:
            columns[name] = np.concatenate([v[name] for v in self.values])
        columns["_source"] = pd.Categorical.from_codes(which, categories=pd.Index(self.folders))
        columns["_row"] = rows + 1  # the line of calendars/day.txt
        self.__init__(self.reader)
        return pd.DataFrame(columns)


def _traded(fields: dict[str, np.ndarray]) -> np.ndarray:
    """Rows that are bars: a close, and not a padded suspended day (zero or NaN volume,
    open, high and low equal to the close or missing, the close equal to the last close,
    adjusted or raw to the fen)."""
    close = fields["close"]
    present = ~np.isnan(close)
    volume = fields["volume"]
    quiet = np.isnan(volume) | (volume == 0)
    if not (quiet & present).any():
        return present
    flat = np.ones(len(close), dtype=bool)
    tolerance = SAME * np.abs(close)
    for name in ("open", "high", "low"):
        flat &= np.isnan(fields[name]) | (np.abs(fields[name] - close) <= tolerance)
    last = _previous(close, present)
    raw = close / fields["factor"]
    with np.errstate(invalid="ignore"):
        at_last = (np.abs(close - last) <= tolerance) | (
            np.abs(raw - _previous(raw, present)) < 0.005
        )
    return present & ~(quiet & flat & at_last)


def _previous(values: np.ndarray, present: np.ndarray) -> np.ndarray:
    """Each row's value on the last present row before it (NaN before the first)."""
    index = np.where(present, np.arange(len(values)), -1)
    index = np.maximum.accumulate(index)
    before = np.empty(len(values), dtype=index.dtype)
    before[0] = -1
    before[1:] = index[:-1]
    return np.where(before >= 0, values[np.maximum(before, 0)], np.nan)


def _gather(evidence: Evidence, bars: dict[str, np.ndarray]) -> None:
    """Add one code's bars (padding dropped) to the evidence about its volume."""
    factor, volume = bars["factor"], bars["volume"]
    with np.errstate(invalid="ignore", divide="ignore"):
        evidence.factor_moves |= bool((np.abs(np.log(factor)) > SAME).any())
        steps = np.flatnonzero(np.abs(np.diff(np.log(factor))) >= np.log(EX_RIGHTS_RATIO)) + 1
        for k in steps:
            before = volume[max(0, k - VOLUME_WINDOW) : k]
            after = volume[k : k + VOLUME_WINDOW]
            before, after = before[before > 0], after[after > 0]
            if len(before) >= 2 and len(after) >= 2:
                evidence.x.append(float(np.log(factor[k] / factor[k - 1])))
                evidence.y.append(float(np.log(np.median(after) / np.median(before))))
        if "amount" not in bars:
            return
        price = sum(bars[name] for name in PRICES) / 4 / factor  # the raw mean price
        telling = (np.abs(np.log(factor)) >= np.log(AMOUNT_FACTOR)) & (volume > 0)
        telling &= bars["amount"] > 0
        raw = np.abs(np.log(bars["amount"] / (volume * price)))[telling]
        adjusted = np.abs(np.log(bars["amount"] / (volume * factor * price)))[telling]
    evidence.raw += int(((raw < adjusted) & (raw <= AMOUNT_MATCH)).sum())
    evidence.adjusted += int(((adjusted < raw) & (adjusted <= AMOUNT_MATCH)).sum())


def measure_volume(evidence: Evidence) -> tuple[str | None, str]:
    """The volume convention the evidence shows ("raw", "adjusted", or None: not shown),
    and what it rests on, in words.

    Ex-rights days: the slope b of log(volume after / volume before) on log(factor step)
    over every step of at least EX_RIGHTS_RATIO (medians of VOLUME_WINDOW traded days on
    either side) is 1 for raw shares and 0 for adjusted volumes; it decides when at least
    MIN_EVIDENCE days put it SIGMAS standard errors away from 0.5. Amounts: each bar whose
    factor is AMOUNT_FACTOR away from 1 votes for the convention whose price amount /
    volume matches (within AMOUNT_MATCH); AGREEMENT of at least MIN_EVIDENCE votes decide.
    The two must not contradict each other."""
    if not evidence.factor_moves:
        return "raw", "every factor is 1, so raw and adjusted volumes are the same"
    said: list[tuple[str, str]] = []
    x, y = np.asarray(evidence.x), np.asarray(evidence.y)
    if len(x) >= MIN_EVIDENCE:
        slope = float((x @ y) / (x @ x))
        spread = float(np.sqrt(((y - slope * x) ** 2).sum() / (len(x) - 1) / (x @ x)))
        text = (
            f"on {len(x):,} ex-rights days (factor steps of {EX_RIGHTS_RATIO - 1:.0%} or more) "
            f"the volume moved by the factor's ratio to the power {slope:.2f} +/- {spread:.2f} "
            "(raw shares: 1, adjusted: 0)"
        )
        if slope - SIGMAS * spread > 0.5:
            said.append(("raw", text))
        elif slope + SIGMAS * spread < 0.5:
            said.append(("adjusted", text))
        else:
            said.append(("", text))
    elif len(x):
        said.append(("", f"only {len(x)} ex-rights days with volumes around them"))
    votes = evidence.raw + evidence.adjusted
    if votes >= MIN_EVIDENCE:
        share = max(evidence.raw, evidence.adjusted) / votes
        winner = "raw" if evidence.raw >= evidence.adjusted else "adjusted"
        text = (
            f"amount / volume matched the {'raw price' if winner == 'raw' else 'raw price x factor'}"
            f" on {share:.0%} of {votes:,} bars whose factor is far from 1"
        )
        said.append((winner if share >= AGREEMENT else "", text))
    elif votes:
        said.append(("", f"only {votes} bars whose amount / volume tells"))
    decided = {kind for kind, _ in said if kind}
    words = "; ".join(text for _, text in said) or "no ex-rights day and no amount to tell by"
    return (decided.pop() if len(decided) == 1 else None), words


def decide_volume(evidence: Evidence, named: str | None, root: Path) -> tuple[str, str]:
    """The volume convention to read with, and the note that says which and why: the
    named one (with a warning where the data says otherwise), else the measured one;
    DataError when nothing is named and the data does not show it."""
    measured, words = measure_volume(evidence)
    if named is not None:
        if measured is not None and measured != named and evidence.factor_moves:
            warnings.warn(
                f"{root}: volume read as {named}, as named, but the data says {measured} ({words})",
                DataWarning,
                stacklevel=4,
            )
        return named, f"qlib volume read as {_convention(named)}, as named ({words})"
    if measured is None:
        raise DataError(
            f"{root}: cannot tell whether volume is in raw shares or adjusted (raw shares / "
            f"factor): {words}; name it with --qlib-volume raw or --qlib-volume adjusted"
        )
    return measured, f"qlib volume read as {_convention(measured)}, measured: {words}"


def _convention(name: str) -> str:
    return "raw shares" if name == "raw" else "adjusted (raw shares = volume x factor)"


def _calendar(path: Path) -> pd.DatetimeIndex:
    lines = [line.strip() for line in path.read_text(encoding="utf-8").splitlines()]
    lines = [line for line in lines if line]
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
    """(calendar index of the first value, values as float64) of one .day.bin file."""
    data = np.fromfile(path, dtype="<f4")
    start = float(data[0]) if len(data) else -1.0
    if not (start >= 0 and start == int(start) and int(start) + len(data) - 1 <= days):
        raise DataError(
            f"{path}: not a qlib .day.bin file of this calendar (first value {start:g}, "
            f"{max(len(data) - 1, 0)} values, {days} calendar days)"
        )
    return int(start), data[1:].astype("float64")


def _aligned(rows: np.ndarray, first: int, values: np.ndarray) -> np.ndarray:
    """A field's values on ``rows`` (NaN where the field has none)."""
    if len(rows) and first == rows[0] and len(values) == len(rows):
        return values
    out = np.full(len(rows), np.nan)
    at = rows - first
    inside = (at >= 0) & (at < len(values))
    out[inside] = values[at[inside]]
    return out
