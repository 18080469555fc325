"""A-share quant research platform: data, models, signals and backtrader backtests."""

__version__ = "0.1.0"
