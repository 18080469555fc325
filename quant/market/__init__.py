"""The market model: the trading calendar, the securities master (what each code is) and
the dated per-board trading rules. Every rule of the A-share market the platform applies
lives here, as data with its source, and is read from here by the panel, the broker and the
strategy helpers."""

from quant.market.calendar import Months, TradingCalendar
from quant.market.rules import OrderSize, limit_rates, order_size
from quant.market.securities import classify

__all__ = ["Months", "OrderSize", "TradingCalendar", "classify", "limit_rates", "order_size"]
