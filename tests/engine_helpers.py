"""A tiny market and a scripted strategy for hand-checkable engine tests."""

from __future__ import annotations

from typing import Any

import pandas as pd

from quant.data import MarketPanel
from quant.data.validate import prepare_columns, validate_tidy
from quant.engine import AShareStrategy, BacktestConfig, Context, Plan, Rules, run_strategy
from quant.engine.runner import StrategyResult, prepare_context


def panel_of(*frames: pd.DataFrame) -> MarketPanel:
    frame = prepare_columns(pd.concat(frames, ignore_index=True), "test")
    return MarketPanel.from_frame(validate_tidy(frame))


class Scripted(AShareStrategy):
    """Places the orders its script lists for each date, at that date's close.
    An action is (method, code, amount) with method one of: buy, sell (raw orders),
    target (order_target_shares), value (order_target_value)."""

    params = (("script", None),)

    @classmethod
    def prepare(cls, context: Context, script: dict | None = None, **unused: Any) -> Plan:
        codes = sorted({code for actions in script.values() for _, code, _ in actions})
        return Plan(codes=codes, params={"script": script})

    def next(self) -> None:
        for method, code, amount in self.p.script.get(self.today, []):
            data = self.feeds[code]
            if method == "buy":
                self.buy(data=data, size=amount)
            elif method == "sell":
                self.sell(data=data, size=amount)
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
) -> StrategyResult:
    config = BacktestConfig(
        start=start,
        end=end,
        cash=cash,
        strategies=[strategy.__name__],
        params={strategy.__name__: {"script": {pd.Timestamp(d): a for d, a in script.items()}}},
        rules=rules or Rules(),
    )
    context = prepare_context(config, panel, index_panel=panel)
    return run_strategy(strategy, context)
