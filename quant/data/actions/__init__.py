"""Corporate actions (dividends, bonus and transferred shares, rights issues) as a table
beside the bars: its tidy schema and checks (quant.data.actions.table), the layouts it is
published in (quant.data.actions.layouts: tushare, baostock, akshare's Sina, cninfo and
East Money tables), reading and writing (quant.data.actions.load) and the checks against
the bars (quant.data.actions.check). The broker applies it (quant.engine.actions); see
docs/corporate_actions.md."""

from __future__ import annotations

from quant.data.actions.check import ActionCheck, check_against
from quant.data.actions.load import load_actions, write_actions
from quant.data.actions.table import ActionTable

__all__ = ["ActionCheck", "ActionTable", "check_against", "load_actions", "write_actions"]
