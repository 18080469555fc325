"""The typed settings of a backtest, with documented defaults, and their TOML form.

A run folder's ``config.toml`` holds everything needed to repeat the run:
``quant backtest --config runs/X/config.toml`` does it again. Every key is checked for
its type (no coercion: ``lot = 100.5``, ``t_plus_one = "no"`` or ``strategies =
"momentum"`` are refused) and range (NaN and infinity too), and a bad one is a one-line
:class:`ConfigError` naming it (see :mod:`quant.settings`).
"""

from __future__ import annotations

import datetime
import sys
from pathlib import Path
from typing import Annotated, Any, Literal

import pandas as pd
import tomli_w
from pydantic import BeforeValidator, Field, ValidationError, field_validator, model_validator

from quant.errors import UserError
from quant.market.fees import fee_on
from quant.settings import Settings, describe, read_toml

#: Before this day stamp duty was charged on both sides and the fee table's transfer fees
#: begin: windows starting earlier are refused (see BacktestConfig).
STAMP_DUTY_BOTH_SIDES_UNTIL = pd.Timestamp("2008-09-19")


class ConfigError(UserError, ValueError):
    """A setting that cannot be used; the message names it."""


def _iso(value: Any) -> Any:
    """TOML's unquoted dates read as dates; the config holds them as ``YYYY-MM-DD``."""
    return value.isoformat() if isinstance(value, datetime.date) else value


def strategy_spec(value: Any) -> Any:
    """A strategy class as the spec that names it, ``module:Class`` (``__main__:Class`` for
    one defined in a notebook or a script); any other value unchanged. A ConfigError for a
    class that its module does not hold under its name (defined inside a function, or
    defined again since), which no spec can name."""
    if not isinstance(value, type):
        return value
    module = sys.modules.get(value.__module__)
    spec = f"{value.__module__}:{value.__qualname__}"
    if getattr(module, value.__qualname__, None) is not value:
        raise ConfigError(
            f"strategy class {value.__qualname__} cannot be named as {spec}: define it at the "
            "top level of a module, a script or a notebook cell, and pass the class as it is "
            "now (not one from before its cell ran again)"
        )
    return spec


def _tuples(value: Any) -> Any:
    """TOML gives lists (of lists) where the rules hold tuples."""
    return tuple(_tuples(v) for v in value) if isinstance(value, list) else value


Fraction = Annotated[float, Field(ge=0, lt=1)]
Date = Annotated[str, BeforeValidator(_iso)]
#: A strategy: its name, ``module:Class``, ``path/to/file.py:Class``, or the class itself.
StrategySpec = Annotated[str, BeforeValidator(strategy_spec), Field(min_length=1)]


class Rules(Settings):
    """A-share execution rules and costs (the sources of the market rules:
    quant/market/board_rules.csv and README "The A-share rules"). Read from a config by
    :class:`BacktestConfig`; ``Rules(...)`` in Python code raises pydantic's
    ValidationError, :meth:`~quant.settings.Settings.of` a one-line :class:`ConfigError`."""

    error = ConfigError

    fill_at: Literal["open", "close"] = "open"
    """Orders decided after the close of day t fill at the ``open`` of t+1 (default) or at
    its ``close``."""
    lot: int = Field(0, ge=0)
    """0 (default): order sizes follow each stock's board and date (main board and ChiNext
    lots of 100; STAR at least 200 then steps of 1; Beijing at least 100 then steps of 1; see
    quant.market.rules). A positive number gives every board lots of that many shares (an
    override for studies). A sell may close an odd position only as a whole."""
    t_plus_one: bool = True
    """Shares bought on a day cannot be sold that day."""
    price_limits: bool = True
    """No buy fills at limit-up, no sell at limit-down (at the fill price: the open, or the
    close with ``fill_at = "close"``)."""
    commission: Fraction = 0.00025
    """Commission on both sides, a fraction of the traded value."""
    min_commission: float = Field(5.0, ge=0)
    """The least commission of an order, in yuan."""
    transfer_fee: Literal["table"] | Fraction = "table"
    """Transfer fee on both sides: ``"table"`` (default), the dated rate of each stock's
    exchange from quant/market/fee_rules.csv (Shanghai 0.3 per mille of the par value until
    2015-07-31; Shenzhen 0.0255 per mille of the value; both 0.02 per mille from 2015-08-01
    and 0.01 per mille from 2022-04-29; each row with its source), or one fraction of the
    traded value for every exchange and date (a study's override)."""
    stamp_duty: Annotated[
        Literal["table"] | tuple[tuple[str, Fraction], ...], BeforeValidator(_tuples)
    ] = "table"
    """Stamp duty: ``"table"`` (default), the dated rows of quant/market/fee_rules.csv
    (sells only: 0.1 % from 2008-09-19, 0.05 % from 2023-08-28), or (date from which a
    rate applies, rate) pairs ordered by date, on sells only (a study's override)."""
    rights: Literal["subscribe", "lapse"] = "subscribe"
    """What a holder does with a rights issue (配股) of the corporate-actions table when the
    strategy does not say (AShareStrategy.rights_issue): ``"subscribe"`` (default) takes
    every rights share its cash can pay for, at the subscription price; ``"lapse"`` takes
    none, and the holding is diluted by the ex-rights price."""
    cash_buffer: float = Field(0.002, ge=0, lt=0.5)
    """Share of equity kept back when sizing buys, because orders are sized at today's
    close and tomorrow may open higher."""
    write_off_after_days: int = Field(0, ge=0)
    """A held stock without a bar for this many trading days in a row is closed at its last
    close, with sell costs, and reported (a delisted stock has no more bars, but neither has
    a long suspension: this decides on the past only). 0 (default): never; the position
    stays, valued at its last close."""

    @field_validator("stamp_duty")
    @classmethod
    def _dated(cls, value: Any) -> Any:
        if value == "table":
            return value
        try:
            starts = [pd.Timestamp(date) for date, _ in value]
        except ValueError as error:
            raise ValueError(f"rules.stamp_duty: a date that cannot be read ({error})") from None
        if starts != sorted(starts):
            raise ValueError("rules.stamp_duty must be ordered by date")
        return value

    @property
    def lot_override(self) -> int | None:
        """The study's lot for every board, or None: sizes follow the board."""
        return self.lot or None

    def stamp_duty_rate(self, date: pd.Timestamp) -> float:
        """Sell-side stamp duty in force on ``date`` under the rules' own pairs (with
        ``stamp_duty = "table"``: quant.engine.costs.day_rates reads the table)."""
        if self.stamp_duty == "table":
            return fee_on("stamp_duty", "*", date).rate
        rate = 0.0
        for start, value in self.stamp_duty:
            if date >= pd.Timestamp(start):
                rate = value
        return rate


class PaperFigures(Settings):
    """One strategy's figures in a published table."""

    error = ConfigError

    annualized_return: float = Field(gt=-1)
    """Annualised return, a fraction per year (0.309 for 30.9 %)."""
    max_drawdown: float = Field(ge=0, le=1)
    """Largest fall from a running peak, a positive fraction."""


#: Liu, Zhang, Ma (2017), Table 2: test span 2014-01-01..2017-03-31, training from 2007.
PAPER_TABLE_2 = {
    "benchmark": PaperFigures(annualized_return=0.136, max_drawdown=0.443),
    "cnn_lstm": PaperFigures(annualized_return=0.309, max_drawdown=0.241),
    "momentum": PaperFigures(annualized_return=-0.118, max_drawdown=0.689),
}


class Paper(Settings):
    """A published table the report shows beside the run's figures, for orientation (its
    data is not the run's). Default: Table 2 of Liu, Zhang, Ma (2017), whose strategies
    this project reproduces; ``figures = {}`` leaves the column out."""

    error = ConfigError

    source: str = "Liu, Zhang, Ma 2017, Table 2"
    """Where the figures come from."""
    data: str = "its own data (training from 2007, all A-shares, from SINA)"
    """What the figures were measured on."""
    figures: dict[str, PaperFigures] = Field(default_factory=lambda: dict(PAPER_TABLE_2))
    """A strategy's name -> its published figures."""


#: Strategies every other strategy is compared with by default, when they are in the run.
BASELINES = ("benchmark", "momentum", "ew_universe", "reversal")


class BacktestConfig(Settings):
    """One backtest run: data, window, strategies and rules. Built in Python or read from a
    config (:meth:`from_toml`), a bad key is a one-line :class:`ConfigError` naming it."""

    error = ConfigError

    data: str = "sample"
    """Stock bars: ``"sample"`` (the built-in sample) or a Parquet/CSV file or folder."""
    index_data: str = "sample"
    """Index bars: ``"sample"`` or a file or folder."""
    start: Date = "2014-01-01"
    """First day of the test window (YYYY-MM-DD)."""
    end: Date = "2017-03-31"
    """Last day of the test window (YYYY-MM-DD)."""
    cash: float = Field(1_000_000.0, gt=0)
    """Starting cash, in yuan."""
    strategies: list[StrategySpec] = Field(
        default_factory=lambda: ["benchmark", "momentum"], min_length=1
    )
    """Built-in names (``benchmark``, ``momentum``, ...), ``module:Class`` or
    ``path/to/file.py:Class``; in Python, a strategy class too (held as ``module:Class``,
    e.g. ``__main__:MyStrategy`` for one defined in a notebook)."""
    params: dict[str, dict[str, Any]] = Field(default_factory=dict)
    """A strategy's name (a custom one's: its class name) -> its parameters (checked by the
    strategy's ``Params``); parameters of a strategy that is not run are an error."""
    rules: Rules = Field(default_factory=Rules)
    """The market's rules and costs."""
    baselines: list[Annotated[str, Field(min_length=1)]] = Field(
        default_factory=lambda: list(BASELINES)
    )
    """Strategies every other strategy of the run is compared with (the report's
    significance table), those of them that the run includes; each must be a built-in
    strategy or one of the run's."""
    paper: Paper = Field(default_factory=Paper)
    """The published figures the report shows beside the run's (``[paper]``)."""
    seed: int = Field(0, ge=0)
    """The random seed of strategies with trained models."""
    seeds: list[Annotated[int, Field(ge=0)]] = Field(default_factory=list)
    """Seeds to run strategies with trained models once each; empty: just ``seed``."""
    workers: int = Field(0, ge=0)
    """Processes for independent runs; 0: one per core."""
    cache_dir: str = ".cache/quant"
    """Where trained models and signal tables are cached."""
    calendar: Literal["exchange", "data"] = "exchange"
    """``"exchange"``: the XSHG sessions; ``"data"``: the data's own dates."""
    code_changes: str = ""
    """A file of (old_code, new_code, date) merging re-coded securities; "": none."""
    corporate_actions: str = ""
    """A corporate-actions table (file or folder; the tidy schema or a tushare, baostock
    or akshare dividend / rights table, quant.data.actions): dividends paid in cash with
    their tax, bonus shares, rights issues, as they happen. "" (default): none, and every
    ex-rights day scales the shares held by the adjustment factor's ratio (dividends
    reinvested untaxed, rights taken as free shares), which every report says."""
    non_stocks: Literal["error", "drop"] = "error"
    """Codes in the stock data that are not A-share stocks: an ``"error"`` (default), or
    ``"drop"`` them with a warning."""
    clip: bool = False
    """A window reaching beyond the data (or an index a strategy holds) runs cut to what
    the data holds, with a warning, instead of being an error (quant.engine.window)."""

    def __init__(self, **values: Any) -> None:
        try:
            super().__init__(**values)
        except ValidationError as error:
            raise ConfigError(describe(type(self), error)) from None

    @field_validator("start", "end")
    @classmethod
    def _date(cls, value: str) -> str:
        try:
            pd.Timestamp(value)
        except ValueError as error:
            raise ValueError(f"start/end must be dates (YYYY-MM-DD): {error}") from None
        return value

    @field_validator("seeds")
    @classmethod
    def _distinct(cls, value: list[int]) -> list[int]:
        if len(set(value)) != len(value):
            raise ValueError(f"seeds must differ: {value}")
        return value

    @model_validator(mode="after")
    def _window(self) -> BacktestConfig:
        if self.start_date > self.end_date:
            raise ValueError(f"start {self.start} is after end {self.end}")
        if self.start_date < STAMP_DUTY_BOTH_SIDES_UNTIL:
            raise ValueError(
                f"backtests starting before {STAMP_DUTY_BOTH_SIDES_UNTIL.date()} are refused: "
                "the fee table's transfer fees start then (quant/market/fee_rules.csv; stamp "
                f"duty was charged on both sides before) (start {self.start_date.date()})"
            )
        return self

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

    def with_strategies(self, strategies: list[Any], where: str = "") -> BacktestConfig:
        """This config running ``strategies`` (names, specs or classes) instead, less the
        parameters, baselines and paper figures of the strategies it leaves out."""
        specs = [strategy_spec(s) for s in strategies]
        left_out = _names(self.strategies) - _names(specs)
        return self.replace(
            {
                "strategies": specs,
                "params": {k: dict(v) for k, v in self.params.items() if k not in left_out},
                "baselines": [name for name in self.baselines if name not in left_out],
                "paper": self.paper.replace(
                    {"figures": {k: v for k, v in self.paper.figures.items() if k not in left_out}}
                ),
            },
            where=where,
        )

    def to_dict(self) -> dict[str, Any]:
        """Plain values (tuples as lists), the TOML form's."""
        return _lists(self.model_dump())

    def to_toml(self) -> str:
        return tomli_w.dumps(self.to_dict())

    @classmethod
    def from_dict(cls, values: dict[str, Any], source: str = "config") -> BacktestConfig:
        return cls.of(values, where=f"{source}: ")

    @classmethod
    def from_toml(cls, path: str | Path) -> BacktestConfig:
        values, _ = read_toml(path, ConfigError)
        return cls.from_dict(values, str(path))


def _names(specs: list[str]) -> set[str]:
    """What a config's params may call each strategy: its spec, or a custom one's class."""
    return {name for spec in specs for name in (spec, spec.rsplit(":", 1)[-1])}


def _lists(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _lists(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_lists(v) for v in value]
    return value
