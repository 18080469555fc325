"""Buy and hold an index, without costs: the reference every report compares against.

Bought at day 0's close (the last trading day before the start), so its net value is the
index's own close-to-close path from that day."""

from __future__ import annotations

from typing import Any

from quant.engine.strategy import AShareStrategy, Context, Plan


class Benchmark(AShareStrategy):
    frictionless = True
    params = (("index", "000001.SH"),)

    @classmethod
    def index_codes(cls, index: str = "000001.SH", **unused: Any) -> list[str]:
        return [index]

    @classmethod
    def prepare(cls, context: Context, index: str = "000001.SH", **unused: Any) -> Plan:
        if index not in context.index_panel.codes:
            known = ", ".join(context.index_panel.codes)
            raise KeyError(
                f"index {index} is not in the index data {context.config.index_data} (it has {known})"
            )
        return Plan(index_codes=[index], params={"index": index}, info={"index": index})

    def next(self) -> None:
        data = self.feeds[self.p.index]
        if not self.getposition(data).size and data.close[0] > 0:
            self.buy(data=data, size=self.broker.getcash() / data.close[0] * (1 - 1e-12))
