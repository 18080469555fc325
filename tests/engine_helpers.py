"""A tiny market and a scripted strategy for hand-checkable engine tests."""

from __future__ import annotations

from typing import Any

import pandas as pd
from pydantic import Field

from quant.data import MarketPanel
from quant.engine import (
    AShareStrategy,
    BacktestConfig,
    ConfigError,
    Context,
    Plan,
    Rules,
    run_strategy,
)
from quant.engine.runner import StrategyResult, prepare_context


def panel_of(*frames: pd.DataFrame) -> MarketPanel:
    return MarketPanel.from_frame(pd.concat(frames, ignore_index=True))


class Scripted(AShareStrategy):
    """Places the orders its script lists for each date, at that date's close.
    An action is (method, code, amount) with method one of: buy, sell (raw orders),
    target (order_target_shares), value (order_target_value)."""

    class Params(AShareStrategy.Params):
        script: dict[Any, Any] = Field(default_factory=dict)
        """date (a Timestamp, or ``YYYY-MM-DD`` where the config is written as TOML) -> the
        actions placed at its close."""

    @classmethod
    def prepare(cls, context: Context, params: Params) -> Plan:
        codes = {code for actions in params.script.values() for _, code, _ in actions}
        return Plan(codes=sorted(codes))

    def next(self) -> None:
        script = self.plan.params.script
        for method, code, amount in script.get(self.today) or script.get(
            f"{self.today:%Y-%m-%d}", []
        ):
            if method == "buy":
                self.order_shares(code, amount)
            elif method == "sell":
                self.order_shares(code, -amount)
            elif method == "target":
                self.order_target_shares(code, amount)
            elif method == "value":
                self.order_target_value(code, amount)
            else:
                raise ValueError(method)


def run_script(
    panel: MarketPanel,
    script: dict[str, list[tuple[str, str, float]]],
    start: str,
    end: str,
    cash: float = 100_000.0,
    rules: Rules | None = None,
    strategy: type[AShareStrategy] = Scripted,
    corporate_actions: str = "",
) -> StrategyResult:
    config = BacktestConfig(
        corporate_actions=corporate_actions,
        start=start,
        end=end,
        cash=cash,
        strategies=[strategy.__name__],
        params={strategy.__name__: {"script": {pd.Timestamp(d): a for d, a in script.items()}}},
        rules=rules or Rules(),
    )
    context = prepare_context(config, panel, index_panel=panel)
    return run_strategy(strategy, context)


class Failing(AShareStrategy):
    """Holds one stock's feed and trades nothing; its prepare raises as ``fail`` says (a
    cell of a sweep that fails): ``"bug"`` an error of the user's own code, ``"config"``
    one of ours (a UserError)."""

    class Params(AShareStrategy.Params):
        fail: str = ""
        """"", "bug" or "config"."""

    @classmethod
    def prepare(cls, context: Context, params: Params) -> Plan:
        if params.fail == "bug":
            raise RuntimeError("this cell fails on purpose")
        if params.fail == "config":
            raise ConfigError("Failing: a setting this cell cannot use")
        return Plan(codes=[str(context.panel.codes[0])])

    def next(self) -> None:
        pass
