"""The typed settings of a backtest, with documented defaults, and their TOML form.

A run folder's ``config.toml`` holds everything needed to repeat the run:
``quant backtest --config runs/X/config.toml`` does it again.
"""

from __future__ import annotations

import sys
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

import pandas as pd
import tomli_w

from quant.errors import UserError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

#: Stamp duty on sells, by the date from which a rate applies. Before 2008-09-19 it was
#: charged on both sides; those dates are refused (see Rules.check_dates).
STAMP_DUTY = (("2008-09-19", 0.001), ("2023-08-28", 0.0005))
STAMP_DUTY_BOTH_SIDES_UNTIL = pd.Timestamp("2008-09-19")


class ConfigError(UserError, ValueError):
    """A setting that cannot be used; the message names it."""


@dataclass
class Rules:
    """A-share execution rules and costs.

    - ``fill_at``: orders decided after the close of day t fill at the ``open`` of t+1
      (default) or at its ``close``.
    - ``lot``: 0 (default): order sizes follow each stock's board and date (main board and
      ChiNext lots of 100; STAR at least 200 then steps of 1; Beijing at least 100 then steps
      of 1; see quant.market.rules). A positive number gives every board lots of that many
      shares (an override for studies). A sell may close an odd position only as a whole.
    - ``t_plus_one``: shares bought on a day cannot be sold that day.
    - ``price_limits``: no buy fills at limit-up, no sell at limit-down (at the fill price:
      the open, or the close with ``fill_at = "close"``).
    - ``commission``: both sides, with ``min_commission`` yuan per order; ``transfer_fee``
      both sides; ``stamp_duty`` on sells only, at the rate in force on the trade date.
    - ``cash_buffer``: share of equity kept back when sizing buys, because orders are sized
      at today's close and tomorrow may open higher.
    - ``write_off_after_days``: a held stock without a bar for this many trading days in a
      row is closed at its last close, with sell costs, and reported (a delisted stock has
      no more bars, but neither has a long suspension: this decides on the past only).
      0 (default): never; the position stays, valued at its last close.
    """

    fill_at: str = "open"
    lot: int = 0
    t_plus_one: bool = True
    price_limits: bool = True
    commission: float = 0.00025
    min_commission: float = 5.0
    transfer_fee: float = 0.00001
    stamp_duty: tuple[tuple[str, float], ...] = STAMP_DUTY
    cash_buffer: float = 0.002
    write_off_after_days: int = 0

    def __post_init__(self) -> None:
        if self.fill_at not in ("open", "close"):
            raise ConfigError(f"rules.fill_at must be 'open' or 'close', not {self.fill_at!r}")
        if self.lot < 0:
            raise ConfigError(
                f"rules.lot must be 0 (by board) or a positive number, not {self.lot}"
            )
        for name in ("commission", "min_commission", "transfer_fee", "cash_buffer"):
            if getattr(self, name) < 0:
                raise ConfigError(f"rules.{name} must not be negative")
        if self.write_off_after_days < 0:
            raise ConfigError("rules.write_off_after_days must be 0 (never) or more")
        if not 0 <= self.cash_buffer < 0.5:
            raise ConfigError("rules.cash_buffer must be in [0, 0.5)")
        self.stamp_duty = tuple((str(d), float(r)) for d, r in self.stamp_duty)
        starts = [pd.Timestamp(d) for d, _ in self.stamp_duty]
        if starts != sorted(starts):
            raise ConfigError("rules.stamp_duty must be ordered by date")

    @property
    def lot_override(self) -> int | None:
        """The study's lot for every board, or None: sizes follow the board."""
        return self.lot or None

    def stamp_duty_rate(self, date: pd.Timestamp) -> float:
        """Sell-side stamp duty in force on ``date``."""
        rate = 0.0
        for start, value in self.stamp_duty:
            if date >= pd.Timestamp(start):
                rate = value
        return rate

    def check_dates(self, start: pd.Timestamp) -> None:
        if start < STAMP_DUTY_BOTH_SIDES_UNTIL:
            raise ConfigError(
                f"backtests starting before {STAMP_DUTY_BOTH_SIDES_UNTIL.date()} are refused: "
                f"stamp duty was then charged on both sides, which is not modelled (start {start.date()})"
            )


@dataclass
class BacktestConfig:
    """One backtest run: data, window, strategies and rules.

    ``strategies`` are names of built-ins (see ``strategies.BUILTINS``), ``module:Class`` or
    ``path/to/file.py:Class``; ``params`` maps a strategy's name to its keyword settings.
    ``calendar``: ``"exchange"`` (the XSHG sessions) or ``"data"`` (the data's own dates);
    ``code_changes``: a file of (old_code, new_code, date) merging re-coded securities ("":
    none); ``non_stocks``: ``"error"`` (default) or ``"drop"`` for codes in the stock data
    that are not A-share stocks. ``clip``: a window reaching beyond the data (or an index a
    strategy holds) runs cut to what the data holds, with a warning, instead of being an
    error (quant.engine.window).
    """

    data: str = "sample"
    index_data: str = "sample"
    start: str = "2014-01-01"
    end: str = "2017-03-31"
    cash: float = 1_000_000.0
    strategies: list[str] = field(default_factory=lambda: ["benchmark", "momentum"])
    params: dict[str, dict[str, Any]] = field(default_factory=dict)
    rules: Rules = field(default_factory=Rules)
    seed: int = 0
    seeds: list[int] = field(default_factory=list)  # empty: just ``seed``
    workers: int = 0  # processes for independent runs; 0: one per core
    cache_dir: str = ".cache/quant"
    calendar: str = "exchange"
    code_changes: str = ""
    non_stocks: str = "error"
    clip: bool = False

    def __post_init__(self) -> None:
        if isinstance(self.rules, dict):
            self.rules = _build(Rules, self.rules, "rules")
        try:
            start, end = pd.Timestamp(self.start), pd.Timestamp(self.end)
        except ValueError as error:
            raise ConfigError(f"start/end must be dates: {error}") from None
        if start > end:
            raise ConfigError(f"start {self.start} is after end {self.end}")
        if self.cash <= 0:
            raise ConfigError(f"cash must be positive, not {self.cash}")
        if not self.strategies:
            raise ConfigError("no strategies to run")
        self.rules.check_dates(start)
        if len(set(self.seeds)) != len(self.seeds):
            raise ConfigError(f"seeds must differ: {self.seeds}")
        if self.calendar not in ("exchange", "data"):
            raise ConfigError(f"calendar must be 'exchange' or 'data', not {self.calendar!r}")
        if self.non_stocks not in ("error", "drop"):
            raise ConfigError(f"non_stocks must be 'error' or 'drop', not {self.non_stocks!r}")
        if not isinstance(self.clip, bool):
            raise ConfigError(f"clip must be true or false, not {self.clip!r}")
        if self.workers < 0:
            raise ConfigError(f"workers must be 0 (one per core) or more, not {self.workers}")

    @property
    def seed_list(self) -> list[int]:
        """The seeds strategies with randomness run with."""
        return list(self.seeds) or [self.seed]

    @property
    def start_date(self) -> pd.Timestamp:
        return pd.Timestamp(self.start)

    @property
    def end_date(self) -> pd.Timestamp:
        return pd.Timestamp(self.end)

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["rules"]["stamp_duty"] = [list(pair) for pair in self.rules.stamp_duty]
        return out

    def to_toml(self) -> str:
        return tomli_w.dumps(self.to_dict())

    @classmethod
    def from_dict(cls, values: dict[str, Any], source: str = "config") -> BacktestConfig:
        return _build(cls, values, source)

    @classmethod
    def from_toml(cls, path: str | Path) -> BacktestConfig:
        path = Path(path)
        try:
            values = tomllib.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ConfigError(f"{path}: no such config file") from None
        except tomllib.TOMLDecodeError as error:
            raise ConfigError(f"{path}: not valid TOML: {error}") from None
        return cls.from_dict(values, str(path))


def _build(kind: type, values: dict[str, Any], source: str) -> Any:
    known = {f.name for f in fields(kind)}
    unknown = sorted(set(values) - known)
    if unknown:
        raise ConfigError(
            f"{source}: unknown setting(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}"
        )
    try:
        return kind(**values)
    except TypeError as error:
        raise ConfigError(f"{source}: {error}") from None
