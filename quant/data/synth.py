"""A seeded synthetic A-share-like market of any size, for scale tests (never the default).

``generate(stocks, days, seed)`` simulates N stocks over T trading days, one day at a
time and vectorised over the stocks, with the A-share mechanics the panel models:

- listings (IPOs inside the period, with their limit-free first days) and delistings;
- suspensions (listed days without a bar; never a stock's first or last listed day, which a
  tidy table could not tell from a listing or a delisting);
- ex-rights days (cash dividends, bonus shares) with a back-adjustment factor: the day's
  reference price is the previous close x old factor / new factor; a bonus issue multiplies
  the shares, so the share volume jumps by the factor's ratio while the turnover in yuan
  carries on (what tells a raw volume from an adjusted one, quant.data.readers.qlib);
- price limits at each board's rate from the rules table (quant.market.rules: main board
  10 %, ChiNext 10 % then 20 %, STAR 20 %, Beijing 30 %), rounded to the fen: closes, opens,
  highs and lows never leave the band, and jumps push many closes onto it;
- the exchange's sessions (quant.market.calendar); STAR and Beijing stocks list only once
  their boards have opened (boards that open after the last day get no stocks).

The result remembers what it did (listed, suspended, limit prices, closes at a limit) so
that tests can hold the panel's own computation against it. ``write(market, DIR)`` stores
it in the tidy schema; ``quant.data.load_bars(DIR)`` reads it like any other data.
``write_qlib(market, DIR)`` stores it as a qlib data folder, the way qlib's dump_bin writes
one and published sets hold it (quant.data.readers.qlib), for the qlib reader's tests and
benchmarks.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from quant.data.panel import MarketPanel
from quant.io import write_atomic, write_text_atomic
from quant.market.calendar import TradingCalendar, sessions_from
from quant.market.rules import board_opened, limit_free_days, limit_rates, round_to_fen
from quant.market.securities import boards as board_of_codes

#: Boards: (first code, exchange, board, share of stocks, most codes).
BOARDS = (
    (600000, "SH", "main", 0.40, 6000),
    (1, "SZ", "main", 0.30, 3999),
    (300001, "SZ", "chinext", 0.15, 1999),
    (688001, "SH", "star", 0.10, 1999),
    (830001, "BJ", "bse", 0.05, 9999),
)
DEFAULT_START = "2010-01-04"
#: Probabilities per stock (listing, delisting) and per stock-day (the rest).
P_LISTED_AT_START = 0.7
P_DELISTS = 0.08
P_SUSPENSION_STARTS = 0.003
MEAN_SUSPENSION_DAYS = 6
P_EX_RIGHTS = 1 / 250
P_JUMP = 0.01
MARKET_VOL = 0.013
STOCKS_FILE = "stocks.parquet"


@dataclass(frozen=True, eq=False)
class SynthMarket(MarketPanel):
    """A generated market, as the MarketPanel the generator itself recorded (what it did:
    listings, suspensions, limit bands of days with a bar and a limit), which the panel
    computed from the written files must match; plus its seed."""

    seed: int = 0
    #: The limit prices the generator applied (the panel computes its own from the files).
    limit_up: np.ndarray | None = None
    limit_down: np.ndarray | None = None

    @property
    def at_limit_up(self) -> np.ndarray:
        """Closes the generator put on the limit-up price."""
        return self.close == self.limit_up

    @property
    def at_limit_down(self) -> np.ndarray:
        return self.close == self.limit_down

    @cached_property
    def delisted(self) -> np.ndarray:
        """Codes whose listing ends before the last day."""
        return ~self.listed[-1]

    @property
    def bars(self) -> pd.DataFrame:
        """The tidy table, sorted by (code, date)."""
        keep = self.has_bar.T  # (N, T): rows come out by code, then date
        stock, day = np.divmod(np.flatnonzero(keep), len(self.dates))
        flat = day * len(self.codes) + stock  # the same cells in the (T, N) arrays
        columns = {
            "date": self.dates.to_numpy()[day],
            "code": pd.Categorical.from_codes(stock, categories=self.codes),
        }
        for name in ("open", "high", "low", "close", "volume", "amount", "adj_factor"):
            columns[name] = getattr(self, name).ravel()[flat]
        return pd.DataFrame(columns, copy=False)


def stock_codes(n: int, last_day: str | pd.Timestamp | None = None) -> pd.Index:
    """``n`` distinct codes spread over the boards open by ``last_day`` (all by default;
    the share of the others goes to the SSE main board), sorted (as the panel sorts them)."""
    share = np.array([b[3] for b in BOARDS])
    if last_day is not None:
        share[[board_opened(b[2]) > pd.Timestamp(last_day) for b in BOARDS]] = 0.0
    counts = np.floor(share * n).astype(int)
    counts[0] += n - counts.sum()
    codes: list[str] = []
    for (first, exchange, _, _, most), count in zip(BOARDS, counts):
        if count > most:
            raise ValueError(f"at most {most} synthetic {exchange} codes from {first:06d}")
        codes += [f"{first + k:06d}.{exchange}" for k in range(count)]
    return pd.Index(sorted(codes), name="code")


def generate(
    stocks: int,
    days: int,
    seed: int = 0,
    *,
    start: str = DEFAULT_START,
    progress: bool | None = False,
) -> SynthMarket:
    """Simulate ``stocks`` x ``days``; the same arguments give the same market."""
    if stocks < 1 or days < 2:
        raise ValueError("need at least 1 stock and 2 days")
    rng = np.random.default_rng(seed)
    dates = sessions_from(start, days)
    codes = stock_codes(stocks, dates[-1])
    board = board_of_codes(codes)
    n, shape = len(codes), (days, len(codes))

    # -- per stock: listing span, price level, volatility -------------------------------
    opens = np.array([np.searchsorted(dates, board_opened(b)) for b in board])
    first_day = np.where(
        (rng.random(n) < P_LISTED_AT_START) & (opens == 0),
        0,
        rng.integers(np.maximum(opens, 1), days),
    )
    delists = rng.random(n) < P_DELISTS
    last_day = np.where(
        delists, rng.integers(first_day, np.maximum(first_day + 1, days - 1)), days - 1
    )
    first_day[0], last_day[0] = 0, days - 1  # an anchor stock keeps every date in the data
    suspendable = np.arange(n) != 0
    level = np.exp(rng.normal(np.log(12.0), 0.7, n))
    offer = round_to_fen(np.maximum(level, 1.0))
    beta = rng.uniform(0.6, 1.4, n)
    vol = rng.uniform(0.015, 0.035, n)
    lots = np.exp(rng.normal(np.log(50_000), 1.0, n))
    free_days = np.array(
        [limit_free_days(b, dates[d]) if d > 0 else 0 for b, d in zip(board, first_day.tolist())]
    )
    rates = limit_rates(board, dates)

    out = {
        name: np.full(shape, np.nan)
        for name in ("open", "high", "low", "close", "volume", "amount", "adj_factor")
    }
    out["limit_up"], out["limit_down"] = np.full(shape, np.nan), np.full(shape, np.nan)
    listed = np.zeros(shape, dtype=bool)
    has_bar = np.zeros(shape, dtype=bool)
    new_listing = np.zeros(shape, dtype=bool)

    last_close = np.full(n, np.nan)
    factor = np.where(first_day == 0, round_to_fen(rng.uniform(1.0, 4.0, n)), 1.0)
    shares = np.ones(n)  # bonus issues multiply the shares outstanding, and so the volume
    suspended_for = np.zeros(n, dtype=int)
    bars_so_far = np.zeros(n, dtype=int)
    market = rng.normal(0.0002, MARKET_VOL, days)

    for t in tqdm(range(days), desc="synthetic market", unit="day", disable=progress is False):
        is_listed = (first_day <= t) & (t <= last_day)
        inside = is_listed & (t > first_day) & (t < last_day) & suspendable
        starts = inside & (suspended_for == 0) & (rng.random(n) < P_SUSPENSION_STARTS)
        suspended_for[starts] = rng.geometric(1 / MEAN_SUSPENSION_DAYS, int(starts.sum()))
        suspended = inside & (suspended_for > 0)
        suspended_for[suspended_for > 0] -= 1
        bar = is_listed & ~suspended
        bars_so_far += bar

        # ex-rights: cash dividends (85 %) or bonus shares, on days with a previous close
        event = bar & ~np.isnan(last_close) & (rng.random(n) < P_EX_RIGHTS)
        bonus = rng.random(n) < 0.15
        step = np.where(bonus, rng.uniform(0.1, 1.0, n), rng.uniform(0.005, 0.04, n))
        new_factor = np.where(event, factor * (1 + step), factor)
        shares = np.where(event & bonus, shares * (1 + step), shares)
        reference = round_to_fen(last_close * factor / new_factor)  # the panel's formula
        factor = new_factor

        free = bar & (bars_so_far <= free_days)
        limited = bar & ~free & ~np.isnan(reference)
        up = np.where(limited, round_to_fen(reference * (1 + rates[t])), np.nan)
        down = np.where(limited, round_to_fen(reference * (1 - rates[t])), np.nan)

        # returns: market + own noise + rare jumps, pulled back towards the stock's level
        base = np.where(np.isnan(reference), offer, reference)
        jump = np.where(rng.random(n) < P_JUMP, rng.choice([-1.0, 1.0], n) * 0.25, 0.0)
        pull = -0.003 * np.log(base / level)
        ret = beta * market[t] + vol * rng.standard_normal(n) + jump + pull
        ret = np.where(free & (bars_so_far == 1), rng.normal(0.3, 0.3, n), ret)
        gap = 0.4 * ret + 0.5 * vol * rng.standard_normal(n)
        close = _within(base * np.exp(ret), down, up)
        open_ = _within(base * np.exp(gap), down, up)
        top, bottom = np.maximum(open_, close), np.minimum(open_, close)
        high = _within(top * np.exp(np.abs(0.6 * vol * rng.standard_normal(n))), down, up)
        low = _within(bottom * np.exp(-np.abs(0.6 * vol * rng.standard_normal(n))), down, up)
        volume = 100 * np.ceil(lots * shares * np.exp(0.5 * rng.standard_normal(n)))

        b = bar
        for name, values in (("open", open_), ("high", high), ("low", low), ("close", close)):
            out[name][t, b] = values[b]
        out["volume"][t, b] = volume[b]
        out["amount"][t, b] = (volume * (open_ + high + low + close) / 4)[b]
        out["adj_factor"][t, b] = factor[b]
        out["limit_up"][t, b], out["limit_down"][t, b] = up[b], down[b]
        listed[t], has_bar[t], new_listing[t] = is_listed, bar, free
        last_close = np.where(bar, close, last_close)

    with np.errstate(invalid="ignore"):
        at_limit = {
            f"{field}_at_limit_{side}": has_bar & compare(out[field], out[f"limit_{side}"])
            for field in ("open", "close")
            for side, compare in (("up", np.greater_equal), ("down", np.less_equal))
        }
    return SynthMarket(
        seed=seed,
        **at_limit,
        dates=dates,
        codes=codes,
        **out,
        listed=listed,
        has_bar=has_bar,
        new_listing=new_listing,
        codes_without_adj=(),
        board=board,
        is_st=np.zeros(shape, dtype=bool),
        calendar=TradingCalendar.of(dates)[0],
    )


def _within(price: np.ndarray, down: np.ndarray, up: np.ndarray) -> np.ndarray:
    """Rounded to the fen and kept inside the band (no band where it is NaN); at least
    1 fen. The band's ends are whole fen, so rounding never leaves it."""
    price = round_to_fen(np.maximum(price, 0.01))
    price = np.where(price > up, up, price)
    return np.where(price < down, down, price)


def write(market: SynthMarket, out: str | Path) -> Path:
    """Store the market as ``DIR/stocks.parquet`` (tidy schema) and ``DIR/manifest.json``
    (how it was made), each written atomically; returns DIR."""
    out = Path(out)
    if out.exists() and any(out.glob("*.parquet")) and not (out / STOCKS_FILE).exists():
        raise FileExistsError(f"{out} holds other Parquet files: choose an empty folder")
    bars = market.bars
    write_atomic(out / STOCKS_FILE, lambda p: bars.to_parquet(p, index=False))
    manifest = {
        "format": 1,
        "kind": "synthetic",
        "seed": market.seed,
        "stocks": len(market.codes),
        "days": len(market.dates),
        "first_date": market.dates[0].date().isoformat(),
        "last_date": market.dates[-1].date().isoformat(),
        "rows": len(bars),
        "delisted": int(market.delisted.sum()),
        "note": "synthetic prices for scale tests, not market data",
    }
    write_text_atomic(out / "manifest.json", json.dumps(manifest, indent=1) + "\n")
    return out


def write_qlib(
    market: SynthMarket,
    out: str | Path,
    *,
    volume: str = "raw",
    padded: bool = True,
    upper: bool = False,
    amount: bool = False,
) -> Path:
    """Store the market as a qlib data folder, as ``scripts/dump_bin.py`` of microsoft/qlib
    writes one (quant.data.readers.qlib): ``calendars/day.txt``, ``instruments/all.txt``
    (SYMBOL, first and last listed day) and ``features/<symbol>/<field>.day.bin``
    (little-endian float32: the calendar index of the first value, then one value a day
    from the listing to the delisting). Prices are adjusted (raw x factor), ``factor`` the
    market's adj_factor. ``volume``: "raw" shares or "adjusted" (raw / factor, qlib's Yahoo
    collector). ``padded``: suspended days as published sets hold them, flat bars at the
    last close with zero volume (else NaN, as dump_bin's reindexing leaves them).
    ``upper``: SH600000 folders (else sh600000, as dump_bin names them); ``amount``: write
    the amount field too. ``out`` must be new or empty; returns it."""
    out = Path(out)
    if out.exists() and any(out.iterdir()):
        raise FileExistsError(f"{out} is not empty: choose a new folder")
    (out / "calendars").mkdir(parents=True, exist_ok=True)
    (out / "instruments").mkdir(exist_ok=True)
    days = [d.date().isoformat() for d in market.dates]
    (out / "calendars" / "day.txt").write_text("\n".join(days) + "\n", encoding="utf-8")
    first = np.argmax(market.listed, axis=0)
    last = len(market.dates) - 1 - np.argmax(market.listed[::-1], axis=0)
    symbols = [f"{code[-2:]}{code[:6]}" for code in market.codes]
    lines = [f"{s}\t{days[a]}\t{days[b]}" for s, a, b in zip(symbols, first, last)]
    (out / "instruments" / "all.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    for j, symbol in enumerate(symbols):
        rows = slice(first[j], last[j] + 1)
        bar = market.has_bar[rows, j]
        factor = pd.Series(market.adj_factor[rows, j]).ffill().bfill().to_numpy()
        close = pd.Series(np.where(bar, market.close[rows, j], np.nan)).ffill().to_numpy()
        fields = {}
        for name in ("open", "high", "low", "close"):
            raw = np.where(bar, getattr(market, name)[rows, j], close if padded else np.nan)
            fields[name] = raw * factor
        shares = np.where(bar, market.volume[rows, j], 0.0 if padded else np.nan)
        fields["volume"] = shares / factor if volume == "adjusted" else shares
        fields["factor"] = factor
        if amount:
            fields["amount"] = np.where(bar, market.amount[rows, j], 0.0 if padded else np.nan)
        folder = out / "features" / (symbol if upper else symbol.lower())
        folder.mkdir(parents=True)
        for name, values in fields.items():
            np.hstack([[first[j]], values]).astype("<f").tofile(folder / f"{name}.day.bin")
    return out
