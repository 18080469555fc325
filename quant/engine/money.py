"""What a run applied of the money a holder pays and receives, as the lines every report
carries (report.md's notes, report.html's, metrics.json's ``notes`` and ``money``): the
fees and taxes by date and exchange and from which table, the corporate actions and from
which table, and what was approximated."""

from __future__ import annotations

from typing import Any

import pandas as pd

from quant.data.actions import ActionTable
from quant.data.panel import MarketPanel
from quant.engine import actions as act
from quant.engine.config import BacktestConfig
from quant.market import dividend_tax, fees
from quant.market.fees import EXCHANGES, exchange_of, rules_between

#: The events of a run's log that are corporate actions (the table's, and the factor's).
ACTION_EVENTS = (
    act.DIVIDEND,
    act.BONUS,
    act.RIGHTS_SUBSCRIBED,
    act.RIGHTS_LAPSED,
    act.RIGHTS_CREDITED,
    act.APPROXIMATED,
)


def money(
    config: BacktestConfig, panel: MarketPanel, window: pd.DatetimeIndex, table: ActionTable | None
) -> dict[str, Any]:
    """metrics.json's ``money``: the fee rows applied over ``window`` on the data's
    exchanges (or the rules' own rates), the corporate-actions table (or None) and the
    tax table's regimes."""
    exchanges = [e for e in EXCHANGES if (panel.codes.map(exchange_of) == e).any()]
    first, last = window[0], window[-1]
    rows = {
        fee: (
            [
                row.label() + f" [{row.source}]"
                for e in exchanges
                for row in rules_between(fee, e, first, last)
            ]
            if getattr(config.rules, fee) == "table"
            else None
        )
        for fee in fees.FEES
    }
    return {
        "fee_table": str(fees.TABLE.name) if any(v is not None for v in rows.values()) else None,
        "transfer_fee": list(dict.fromkeys(rows["transfer_fee"] or []))
        or f"{config.rules.transfer_fee} of the value, every exchange and date (rules.transfer_fee)",
        "stamp_duty": list(dict.fromkeys(rows["stamp_duty"] or []))
        or f"{list(config.rules.stamp_duty)} on sells (rules.stamp_duty)",
        "commission": f"{config.rules.commission} of the value, at least {config.rules.min_commission:g} yuan "
        "(rules.commission; it must include the exchanges' handling fee and the CSRC fee)",
        "corporate_actions": None
        if table is None
        else {
            "table": table.source,
            "layouts": list(table.layouts),
            "rows": len(table),
            "kinds": table.kinds(),
            "rights": config.rules.rights,
        },
        "dividend_tax": [r.label() for r in dividend_tax.tax_regimes()]
        if table is not None
        else None,
    }


def money_notes(config: BacktestConfig, table: ActionTable | None) -> list[str]:
    """The report's lines on fees, taxes and corporate actions (see the module); a
    table's notes (what its reading dropped or assumed, what checking it against the bars
    found) with them."""
    lines = [_fee_line(config)]
    if table is None:
        lines.append(
            "corporate actions: no table (corporate_actions): every ex-rights day of a held "
            "stock scales its shares by the adjustment factor's ratio, the total-return "
            "approximation: cash dividends are reinvested at the ex-rights price without the "
            "dividend tax, and bonus shares and rights issues alike arrive as free shares (a "
            "rights issue's subscription price is never paid)"
        )
        return lines
    kinds = ", ".join(f"{count} {kind}" for kind, count in table.kinds().items() if count)
    lines.append(
        f"corporate actions: from {table.source} ({', '.join(table.layouts)}; {len(table)} "
        f"rows: {kinds}): cash dividends paid on their pay date to the holders at the record "
        "date, less the tax withheld then, and the dividend tax of the holding period settled "
        "at each sale (quant/market/dividend_tax.csv: record dates from 2013-01-01 pay 20 % "
        "up to a month, 10 % up to a year, then 5 % (0 % from 2015-09-08)); bonus and "
        "transferred shares credited on the ex date, bonus shares taxed at par; rights "
        f"issues {'subscribed with cash' if config.rules.rights == 'subscribe' else 'lapsed'} "
        "unless a strategy says otherwise (rules.rights); the adjustment factor's change is "
        "not applied where a row explains it, and applied (shares scaled) where none does"
    )
    return lines + list(table.notes)


def _fee_line(config: BacktestConfig) -> str:
    rules = config.rules
    parts = []
    if rules.transfer_fee == "table" or rules.stamp_duty == "table":
        parts.append(
            f"fees: by date and exchange from quant/market/{fees.TABLE.name} (a source per row)"
        )
    if rules.transfer_fee != "table":
        parts.append(
            f"transfer fee {rules.transfer_fee} of the value for every exchange and date (rules.transfer_fee)"
        )
    if rules.stamp_duty != "table":
        parts.append(f"stamp duty {list(rules.stamp_duty)} on sells (rules.stamp_duty)")
    parts.append(
        f"commission {rules.commission} of the value, at least {rules.min_commission:g} yuan, "
        "taken to include the exchanges' handling fee and the CSRC fee"
    )
    return "; ".join(parts)


def action_counts(events: pd.DataFrame, fills: pd.DataFrame) -> dict[str, Any]:
    """A run's corporate actions and taxes: events by kind, dividends received (yuan
    after the tax withheld), the tax withheld and the tax settled at sales, and the costs
    by kind."""
    counts = (
        events["event"].value_counts().reindex(list(ACTION_EVENTS), fill_value=0)
        if len(events)
        else pd.Series(0, index=list(ACTION_EVENTS))
    )
    dividends = events[events["event"] == act.DIVIDEND] if len(events) else events
    return {
        "events": {str(k): int(v) for k, v in counts.items()},
        "dividends_received": float(dividends["cash"].sum()) if len(dividends) else 0.0,
        "dividend_tax_withheld": float(dividends["tax"].sum()) if len(dividends) else 0.0,
        "dividend_tax_at_sale": float(fills["dividend_tax"].sum()) if len(fills) else 0.0,
        "costs": {
            kind: float(fills[kind].sum()) if len(fills) else 0.0
            for kind in ("commission", "transfer_fee", "stamp_duty", "dividend_tax")
        },
    }
