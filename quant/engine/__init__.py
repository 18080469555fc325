"""backtrader glue: A-share broker rules, array feeds, the strategy base and the runner."""

from quant.engine.config import BacktestConfig, ConfigError, Rules
from quant.engine.params import StrategyParams
from quant.engine.runner import BacktestResult, StrategyResult, run_backtest, run_strategy
from quant.engine.strategy import AShareStrategy, Context, Plan, StrategyError

__all__ = [
    "AShareStrategy",
    "BacktestConfig",
    "BacktestResult",
    "ConfigError",
    "Context",
    "Plan",
    "Rules",
    "StrategyError",
    "StrategyParams",
    "StrategyResult",
    "run_backtest",
    "run_strategy",
]
