"""A backtrader strategy as it is written for backtrader (a subclass of ``bt.Strategy``:
``self.data.close``, indicators, ``self.buy()``, ``notify_order``), run by the engine
under the A-share broker and rules, with the same run folder and report as any strategy.

The engine runs it as a subclass of the user's class and of
quant.engine.base.BaseStrategy (:func:`adapt`):

- its feeds are the codes it names: a class attribute ``codes = ["600519.SH", ...]``, or
  the run's ``[params.NAME] codes = [...]`` (NAME: the class's name), which overrides it;
  ``self.datas`` holds them in that order (``self.data`` the first), each also found by
  ``self.getdatabyname(code)``; they span the backtest window, so indicators warm up in
  its first bars (``prenext``) as in backtrader;
- its backtrader ``params`` are its parameters: a run sets them in ``[params.NAME]``,
  checked against the types of their defaults (an int stays an int, a float takes an int)
  before any data loads;
- ``buy``/``sell``/``close``/``order_target_*`` keep backtrader's arguments, with sizes in
  each board's order sizes (the default sizer buys one minimum order: 100 shares on the
  main board); every refusal reaches ``notify_order`` (quant.engine.base).
"""

from __future__ import annotations

import types
from typing import Any

import backtrader as bt
from pydantic import create_model

from quant.engine.base import BaseStrategy
from quant.engine.config import BacktestConfig, ConfigError
from quant.engine.params import StrategyParams
from quant.engine.strategy import Context, Plan

_ADAPTED: dict[type, type[BaseStrategy]] = {}


def adapt(cls: type[bt.Strategy]) -> type[BaseStrategy]:
    """The class the engine runs for ``cls``: ``cls`` itself for a strategy of the platform
    (a BaseStrategy, e.g. an AShareStrategy), otherwise a subclass of ``cls`` and
    BaseStrategy with the same name (see the module). ConfigError when ``cls``'s params
    cannot be typed settings."""
    if issubclass(cls, BaseStrategy):
        return cls
    if cls not in _ADAPTED:
        _ADAPTED[cls] = _adapt(cls)
    return _ADAPTED[cls]


def _adapt(cls: type[bt.Strategy]) -> type[BaseStrategy]:
    names = [name for name, _ in cls.params._getitems() if not name.startswith("_")]
    taken = sorted(set(names) & {name for name, _ in BaseStrategy.params._getitems()})
    if taken:
        raise ConfigError(
            f"strategy {cls.__name__}: its backtrader params {', '.join(taken)} are the "
            "engine's own: rename them"
        )
    params = params_of(cls, names)

    def prepare(klass: type, context: Context, params: StrategyParams) -> Plan:
        return Plan(codes=list(params.codes))  # type: ignore[attr-defined]

    def check_run(klass: type, name: str, params: StrategyParams, config: BacktestConfig) -> None:
        codes: list[str] = params.codes  # type: ignore[attr-defined]
        if not codes:
            raise ConfigError(
                f"strategy {name}: a backtrader strategy trades the codes it names: give it "
                f'a class attribute codes = ["600519.SH", ...] or [params.{name}] codes = [...]'
            )
        repeated = sorted({code for code in codes if codes.count(code) > 1})
        if repeated:
            raise ConfigError(f"params.{name}.codes: {', '.join(repeated)} named twice")

    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        self._join_run()
        for key in names:
            setattr(self.p, key, getattr(self.p.quant_plan.params, key))
        super(adapted, self).__init__(*args, **kwargs)

    body = {
        "__module__": cls.__module__,
        "__qualname__": cls.__qualname__,
        "__doc__": cls.__doc__,
        "Params": params,
        "prepare": classmethod(prepare),
        "check_run": classmethod(check_run),
        "__init__": __init__,
        "backtrader_class": cls,  # the user's class, as written
        # backtrader's notifications delivered whatever it overrides (quant.engine.fastpath)
        "reads_notifications": True,
    }
    adapted = types.new_class(
        cls.__name__, (cls, BaseStrategy), exec_body=lambda ns: ns.update(body)
    )
    return adapted


def params_of(cls: type[bt.Strategy], names: list[str]) -> type[StrategyParams]:
    """Typed parameters for a backtrader strategy: one field per backtrader param in
    ``names`` with its default, typed by it (bool, int, float, str; anything else is taken
    as given), and ``codes``: the codes to feed (a list of strings), by default the class's
    ``codes`` attribute (or its ``codes`` param)."""
    defaults = dict(cls.params._getitems())
    fields: dict[str, Any] = {name: (_type_of(defaults[name]), defaults[name]) for name in names}
    codes = getattr(cls, "codes", None) if "codes" not in names else defaults["codes"]
    try:
        fields["codes"] = (list[str], [codes] if isinstance(codes, str) else list(codes or []))
        return create_model(f"{cls.__name__}Params", __base__=StrategyParams, **fields)
    except (NameError, TypeError, ValueError) as error:
        raise ConfigError(
            f"strategy {cls.__name__}: its params cannot be settings: {error}"
        ) from None


def _type_of(default: Any) -> Any:
    for kind in (bool, int, float, str):
        if type(default) is kind:
            return kind
    return Any
