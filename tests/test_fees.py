"""Dated fees by exchange (quant/market/fee_rules.csv, quant.engine.costs): the transfer fee
of Shanghai on the par value until 2015-07-31, of Shenzhen on the value, both 0.02 per
mille from 2015-08-01 and 0.01 per mille from 2022-04-29; stamp duty on sells, halved on
2023-08-28. Each fill's fees are computed here by hand from those rates."""

from __future__ import annotations

import pandas as pd
import pytest

from quant.engine import BacktestConfig, ConfigError, Rules
from quant.engine.costs import day_rates, trade_costs
from quant.market.dividend_tax import tax_regimes
from quant.market.fees import fee_on, fee_rules, par_value, par_values
from tests.conftest import make_bars, sessions
from tests.engine_helpers import panel_of, run_script


def test_every_row_of_the_rules_tables_has_a_source():
    rows = [row for rows in fee_rules().values() for row in rows]
    assert len(rows) == 11 and all(len(row.source) > 40 for row in rows)
    assert all(len(regime.source) > 40 for regime in tax_regimes())
    assert all(len(source) > 40 for _, source in par_values().values())


@pytest.mark.parametrize(
    ("exchange", "date", "rate", "base"),
    [
        ("SH", "2015-07-31", 0.0003, "par"),
        ("SH", "2015-08-03", 0.00002, "value"),
        ("SH", "2022-04-28", 0.00002, "value"),
        ("SH", "2022-04-29", 0.00001, "value"),
        ("SZ", "2015-07-31", 0.0000255, "value"),
        ("SZ", "2015-08-03", 0.00002, "value"),
        ("SZ", "2022-04-29", 0.00001, "value"),
        ("BJ", "2022-04-28", 0.000025, "value"),
        ("BJ", "2022-04-29", 0.00001, "value"),
    ],
)
def test_the_transfer_fee_in_force_by_exchange_and_date(exchange, date, rate, base):
    row = fee_on("transfer_fee", exchange, pd.Timestamp(date))
    assert (row.rate, row.base) == (rate, base) and "CSDC" in row.source


@pytest.mark.parametrize(
    ("date", "rate", "sides"),
    [("2008-09-18", 0.001, "both"), ("2008-09-19", 0.001, "sell"), ("2023-08-28", 0.0005, "sell")],
)
def test_stamp_duty_by_date(date, rate, sides):
    row = fee_on("stamp_duty", "SZ", pd.Timestamp(date))
    assert (row.rate, row.sides) == (rate, sides) and row.exchange == "*"


def test_costs_of_one_order_by_kind():
    """1,000 shares at 10.00 of 601899.SH (par 0.10 yuan) and 600000.SH on 2015-07-31,
    sold: Shanghai's transfer fee is 0.3 per mille of the par value traded."""
    rates = day_rates(Rules(), "SH", pd.Timestamp("2015-07-31"))
    zijin = trade_costs(Rules(), -1000, 10.0, rates, par_value("601899.SH"))
    spdb = trade_costs(Rules(), -1000, 10.0, rates, par_value("600000.SH"))
    assert (zijin.commission, zijin.transfer_fee, zijin.stamp_duty) == pytest.approx(
        (5.0, 0.03, 10.0)
    )
    assert spdb.transfer_fee == pytest.approx(0.30) and spdb.total == pytest.approx(15.30)


def two_exchanges(days: pd.DatetimeIndex) -> object:
    return panel_of(
        make_bars("600000.SH", days, close=[10.0] * len(days)),
        make_bars("000001.SZ", days, close=[10.0] * len(days)),
    )


@pytest.mark.parametrize(
    ("days", "script", "fees"),
    [
        (  # Friday 2015-07-31 and Monday 2015-08-03
            sessions("2015-07-28", periods=6),
            {"2015-07-30": "buy", "2015-07-31": "sell"},
            {
                ("600000.SH", "2015-07-31"): 1000 * 1.0 * 0.0003,
                ("000001.SZ", "2015-07-31"): 10_000 * 0.0000255,
                ("600000.SH", "2015-08-03"): 10_000 * 0.00002,
                ("000001.SZ", "2015-08-03"): 10_000 * 0.00002,
            },
        ),
        (  # Thursday 2022-04-28 and Friday 2022-04-29
            sessions("2022-04-25", periods=6),
            {"2022-04-27": "buy", "2022-04-28": "sell"},
            {
                ("600000.SH", "2022-04-28"): 10_000 * 0.00002,
                ("000001.SZ", "2022-04-28"): 10_000 * 0.00002,
                ("600000.SH", "2022-04-29"): 10_000 * 0.00001,
                ("000001.SZ", "2022-04-29"): 10_000 * 0.00001,
            },
        ),
    ],
)
def test_fills_pay_the_transfer_fee_of_their_day_and_exchange(days, script, fees):
    orders = {
        day: [(side, code, 1000) for code in ("600000.SH", "000001.SZ")]
        for day, side in script.items()
    }
    result = run_script(two_exchanges(days), orders, str(days[1].date()), str(days[-1].date()))
    fills = result.fills
    charged = {(r.code, str(r.date.date())): r.transfer_fee for r in fills.itertuples()}
    assert charged == pytest.approx(fees)
    stamp = fills[fills["side"] == "sell"]["stamp_duty"]
    assert stamp.tolist() == pytest.approx([10.0, 10.0])
    assert (
        fills["costs"] - fills[["commission", "transfer_fee", "stamp_duty"]].sum(axis=1)
    ).abs().max() < 1e-12


def test_a_study_may_set_one_rate_for_every_exchange_and_date():
    """``transfer_fee = 0.00001`` and stamp-duty pairs: the rates before the table (the
    configs of earlier runs read the same)."""
    days = sessions("2015-07-28", periods=6)
    orders = {
        "2015-07-30": [("buy", "600000.SH", 1000)],
        "2015-07-31": [("sell", "600000.SH", 1000)],
    }
    rules = Rules(transfer_fee=0.00001, stamp_duty=(("2008-09-19", 0.002),))
    result = run_script(two_exchanges(days), orders, "2015-07-29", "2015-08-04", rules=rules)
    assert result.fills["transfer_fee"].tolist() == pytest.approx([0.10, 0.10])
    assert result.fills["stamp_duty"].tolist() == pytest.approx([0.0, 20.0])


@pytest.mark.parametrize(
    ("rules", "message"),
    [
        ({"transfer_fee": "tabel"}, "rules.transfer_fee"),
        ({"transfer_fee": 0.5 + 0.5}, "rules.transfer_fee"),
        ({"stamp_duty": [["2023-08-28", 0.0005], ["2008-09-19", 0.001]]}, "ordered by date"),
        ({"rights": "maybe"}, "rules.rights"),
    ],
)
def test_fee_settings_are_checked(rules, message):
    with pytest.raises(ConfigError, match=message):
        BacktestConfig.from_dict({"rules": rules})
