"""Buy and hold an index, without costs: the reference every report compares against.

Bought at day 0's close (the last trading day before the start), so its net value is the
index's own close-to-close path from that day."""

from __future__ import annotations

from pydantic import Field

from quant.engine import AShareStrategy, ConfigError, Context, Plan


class Benchmark(AShareStrategy):
    frictionless = True

    class Params(AShareStrategy.Params):
        index: str = Field("000001.SH", min_length=1)
        """The index held (a code of the index data: 000001.SH the SSE Composite,
        000300.SH the CSI 300, ...)."""

    @classmethod
    def index_codes(cls, params: Params) -> list[str]:
        return [params.index]

    @classmethod
    def prepare(cls, context: Context, params: Params) -> Plan:
        if params.index not in context.index_panel.codes:
            known = ", ".join(context.index_panel.codes)
            raise ConfigError(
                f"benchmark: index {params.index} is not in the index data "
                f"{context.config.index_data} (it has {known})"
            )
        return Plan(index_codes=[params.index], info={"index": params.index})

    def next(self) -> None:
        index = self.plan.params.index
        price = self.price(index)
        if not self.held(index) and price > 0:
            self.order_shares(index, self.cash / price * (1 - 1e-12))
