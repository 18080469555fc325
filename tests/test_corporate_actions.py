"""Corporate actions from a table, and the dividend tax, on hand-checkable markets
(quant.engine.actions, quant.market.dividend_tax): every figure below is computed by hand
from the rules' text, in the test, not read back from the engine.

Orders placed at a day's close fill at the next day's open; prices are flat but for the
ex-rights days, where they fall to the exchanges' reference price (previous close less
the cash, plus the rights' price x ratio, over one plus the new shares per share, rounded
to the fen) and the adjustment factor rises by previous close / reference, as the shared
data's factors do. Costs: commission 0.025 % (at least 5 yuan), the dated transfer fee and
stamp duty (quant/market/fee_rules.csv).
"""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
import pytest

from quant.data.errors import DataError
from quant.engine import Rules
from quant.engine.arguments import StrategyError
from quant.engine.book import BookState, Entitlement, Income, Locked, Lot, Receivable
from quant.market.dividend_tax import holding_tier, regime_on
from tests.conftest import make_bars, sessions
from tests.engine_helpers import Scripted, panel_of, run_script


def fen(yuan: float) -> float:
    return math.floor(yuan * 100 + 0.5 + 1e-9) / 100


def stock(
    code: str, days: pd.DatetimeIndex, close: float, events: dict, missing=()
) -> pd.DataFrame:
    """Flat bars of ``code`` from ``close``; on each ex date of ``events`` ({date: (cash,
    new shares per share, rights per share, rights price)}) the close falls to the
    reference price and the factor rises by the ratio. ``missing``: days without a bar
    (a suspension; the ex date's reference is from the last close)."""
    closes, factors, factor, price = [], [], 1.0, close
    for day in days:
        if day in events:
            cash, shares, rights, rights_price = events[day]
            reference = fen((price - cash + rights_price * rights) / (1 + shares + rights))
            factor *= price / reference
            price = reference
        closes.append(price)
        factors.append(factor)
    bars = make_bars(code, days, closes, adj_factor=factors)
    return bars[~bars["date"].isin(pd.to_datetime(list(missing)))].reset_index(drop=True)


def table(path: Path, *rows: dict) -> str:
    """The corporate-actions table ``rows`` as a tidy CSV file; its path."""
    file = path / "actions.csv"
    pd.DataFrame(list(rows)).to_csv(file, index=False)
    return str(file)


def commission(value: float) -> float:
    return max(value * 0.00025, 5.0)


# -- 600000.SH 2016: 10转1派5.15 (baostock's sample): record 06-22, ex and pay 06-23, ------
# -- the new shares listed 06-24; 101号 (record date from 2015-09-08): nothing withheld ----
J16 = sessions("2016-06-13", "2016-06-30")
EX16 = pd.Timestamp("2016-06-23")
PF16 = dict(
    code="600000.SH",
    ex_date="2016-06-23",
    record_date="2016-06-22",
    pay_date="2016-06-23",
    listing_date="2016-06-24",
    cash=0.515,
    transfer=0.1,
)


def test_a_5_day_hold_over_a_cash_dividend_pays_the_tax_of_that_period(tmp_path):
    """Bought 06-17, sold 06-24 (up to a month): 20 % of the 515 yuan received, 103.00,
    settled at the sale; the 100 transferred shares are not income. The run's cash is
    the hand-computed one to the fen."""
    panel = panel_of(stock("600000.SH", J16, 17.89, {EX16: (0.515, 0.1, 0, 0)}))
    script = {
        "2016-06-16": [("buy", "600000.SH", 1000)],
        "2016-06-23": [("sell", "600000.SH", 1100)],
    }
    result = run_script(
        panel, script, "2016-06-14", "2016-06-30", corporate_actions=table(tmp_path, PF16)
    )
    buy, sell = result.fills.to_dict("records")
    assert (buy["size"], buy["price"], sell["size"], sell["price"]) == (1000, 17.89, 1100, 15.80)
    assert sell["dividend_tax"] == pytest.approx(103.00, abs=1e-9)
    assert sell["transfer_fee"] == pytest.approx(17_380 * 0.00002)  # SH from 2015-08-01
    assert sell["stamp_duty"] == pytest.approx(17.38)
    events = result.events.set_index("event")
    assert events.loc[
        "bonus and transferred shares", ["shares_before", "shares_after"]
    ].tolist() == [1000, 1100]
    assert events.loc["cash dividend", ["cash", "tax"]].tolist() == [515.0, 0.0]
    cash = 100_000 - 17_890 - commission(17_890) - 17_890 * 0.00002
    cash += 515.00
    cash += 17_380 - commission(17_380) - 17_380 * 0.00002 - 17.38 - 103.00
    assert result.cash.iloc[-1] == pytest.approx(cash, abs=1e-9)
    # the factor's change on the ex date is not applied as well: 1,100 shares, not 1,100 x 1.13
    assert result.equity.loc[EX16] == pytest.approx(
        100_000 - 17_890 - commission(17_890) - 17_890 * 0.00002 + 515.00 + 1_100 * 15.80
    )


def test_new_shares_are_not_sold_before_they_are_listed(tmp_path):
    """The 100 transferred shares are listed 06-24: a sell of the 1,000 old shares placed
    before the ex date fills on it, one of all 1,100 is refused (``not listed yet``)."""
    panel = panel_of(stock("600000.SH", J16, 17.89, {EX16: (0.515, 0.1, 0, 0)}))
    script = {
        "2016-06-16": [("buy", "600000.SH", 1000)],
        "2016-06-22": [("sell", "600000.SH", 1000)],
        "2016-06-23": [("sell", "600000.SH", 100)],
    }
    result = run_script(
        panel, script, "2016-06-14", "2016-06-30", corporate_actions=table(tmp_path, PF16)
    )
    assert result.fills[["date", "side", "size"]].values.tolist() == [
        [pd.Timestamp("2016-06-17"), "buy", 1000],
        [EX16, "sell", 1000],  # placed in the old shares, kept so: the new cannot be sold yet
        [pd.Timestamp("2016-06-24"), "sell", 100],
    ]
    assert result.fills["dividend_tax"].tolist() == [0.0, 103.00, 0.0]  # the old lot's income
    ahead = {
        "2016-06-16": [("buy", "600000.SH", 1000)],
        "2016-06-22": [("sell", "600000.SH", 1100)],
    }
    refused = run_script(
        panel, ahead, "2016-06-14", "2016-06-30", corporate_actions=table(tmp_path, PF16)
    )
    assert refused.refusals[["date", "size", "reason"]].values.tolist() == [
        [EX16, 1100, "not listed yet"]
    ]


# -- 600000.SH 2015 (85号: 5 % withheld, the rest at the sale) and 2016 (101号) ------------
Y = sessions("2015-05-28", "2016-06-30")
EX15 = pd.Timestamp("2015-06-23")
PF15 = dict(
    code="600000.SH",
    ex_date="2015-06-23",
    record_date="2015-06-19",
    pay_date="2015-06-23",
    cash=0.757,
)


@pytest.mark.parametrize(
    ("sold", "tax"),
    [
        ("2015-07-01", 1000 * 0.757 * 0.15),  # up to a month (06-01 .. 07-01): 20 % - 5 %
        ("2016-03-01", 1000 * 0.757 * 0.05),  # up to a year: 10 % - 5 %
        ("2016-06-24", 0.0),  # over a year: 5 % - 5 %; the 2016 dividend: 0 %
    ],
)
def test_the_tax_settled_at_the_sale_follows_the_holding_period(tmp_path, sold, tax):
    """Bought 2015-06-01. The 2015 dividend pays 757.00 less 5 % withheld (37.85):
    719.15; a 1-year hold pays nothing more, a shorter one the rest of its period's rate."""
    panel = panel_of(
        stock("600000.SH", Y, 17.07, {EX15: (0.757, 0, 0, 0), EX16: (0.515, 0.1, 0, 0)})
    )
    placed = Y[Y.get_loc(pd.Timestamp(sold)) - 1]
    script = {"2015-05-29": [("buy", "600000.SH", 1000)], placed: [("target", "600000.SH", 0)]}
    actions = table(tmp_path, PF15, PF16)
    result = run_script(panel, script, "2015-05-29", sold, corporate_actions=actions)
    assert result.fills["date"].tolist() == [pd.Timestamp("2015-06-01"), pd.Timestamp(sold)]
    paid = result.events[result.events["event"] == "cash dividend"]
    assert paid[["date", "cash", "tax"]].values.tolist()[0] == [EX15, 719.15, 37.85]
    assert result.fills["dividend_tax"].iloc[-1] == pytest.approx(fen(tax), abs=1e-9)


def test_before_2013_the_tax_is_withheld_when_paid_and_nothing_at_the_sale(tmp_path):
    """财税〔2005〕102号: 10 % withheld whatever the holding, nothing settled at the sale."""
    days = sessions("2012-06-18", "2012-07-06")
    ex = pd.Timestamp("2012-06-26")
    panel = panel_of(stock("600000.SH", days, 8.50, {ex: (0.30, 0, 0, 0)}))
    row = dict(code="600000.SH", ex_date="2012-06-26", record_date="2012-06-25", cash=0.30)
    script = {
        "2012-06-19": [("buy", "600000.SH", 2000)],
        "2012-06-27": [("target", "600000.SH", 0)],
    }
    result = run_script(
        panel, script, "2012-06-19", "2012-07-06", corporate_actions=table(tmp_path, row)
    )
    assert result.events[["cash", "tax"]].values.tolist() == [[540.0, 60.0]]
    assert result.fills["dividend_tax"].tolist() == [0.0, 0.0]
    assert (
        result.fills["transfer_fee"].tolist() == [pytest.approx(2000 * 1.0 * 0.0003)] * 2
    )  # SH: par


@pytest.mark.parametrize(
    ("ex", "received", "withheld", "at_sale"),
    [
        # 101号: nothing withheld; at the sale 20 % of (0.10 cash + 0.30 x 1 yuan par) a share
        ("2016-06-23", 100.00, 0.00, 1000 * 0.40 * 0.20),
        # 85号: 5 % of the 0.40 withheld from the cash, 15 % more at the sale
        ("2014-06-24", 100.00 - 20.00, 20.00, 1000 * 0.40 * 0.15),
    ],
)
def test_a_bonus_issue_adds_shares_taxed_at_par(tmp_path, ex, received, withheld, at_sale):
    """10送3派1: 300 bonus shares for 1,000 held; the bonus shares' par value is income
    (国税发〔1997〕198号), so a 5-day hold pays the tax on 0.40 yuan a share."""
    ex = pd.Timestamp(ex)
    days = sessions(ex - pd.Timedelta(days=10), ex + pd.Timedelta(days=10))
    panel = panel_of(stock("600000.SH", days, 13.00, {ex: (0.10, 0.3, 0, 0)}))
    before = days[days.get_loc(ex) - 1]
    row = dict(code="600000.SH", ex_date=ex.date(), record_date=before.date(), cash=0.10, bonus=0.3)
    script = {days[1]: [("buy", "600000.SH", 1000)], ex: [("target", "600000.SH", 0)]}
    result = run_script(panel, script, days[1], days[-1], corporate_actions=table(tmp_path, row))
    events = result.events.set_index("event")
    assert events.loc["bonus and transferred shares", "shares_after"] == 1300
    assert events.loc["cash dividend", ["cash", "tax"]].tolist() == pytest.approx(
        [received, withheld]
    )
    assert result.fills["size"].tolist() == [1000, 1300]
    assert result.fills["dividend_tax"].iloc[-1] == pytest.approx(fen(at_sale), abs=1e-9)


def test_the_tax_counts_each_days_net_trade(tmp_path):
    """Selling 500 old shares and buying 500 the same day is no net sale (85号 art. 3: the
    day's net change): the lot of 06-17 keeps its 1,000 shares and income, and the sale
    of all of them on 06-28 pays 20 % of the whole dividend."""
    panel = panel_of(stock("600000.SH", J16, 17.89, {EX16: (0.515, 0, 0, 0)}))
    row = {k: v for k, v in PF16.items() if k not in ("transfer", "listing_date")}
    script = {
        "2016-06-16": [("buy", "600000.SH", 1000)],
        "2016-06-23": [("sell", "600000.SH", 500), ("buy", "600000.SH", 500)],
        "2016-06-27": [("target", "600000.SH", 0)],
    }
    result = run_script(
        panel, script, "2016-06-14", "2016-06-30", corporate_actions=table(tmp_path, row)
    )
    assert result.fills["dividend_tax"].tolist() == [0.0, 0.0, 0.0, 103.00]


def test_an_ex_date_while_suspended_takes_effect_on_the_first_bar_after(tmp_path):
    """10转10派5 with its ex date 06-23 inside a suspension (no bars 06-23 .. 06-28): the
    price falls on the first bar, 06-29, to (10.00 - 0.50) / 2 = 4.75, so the 1,000 new
    shares and the 500 yuan come then too. Credited on 06-23 they would be valued at the
    old close, 10.00, for four sessions: a 10,500-yuan jump in equity and a false 9.5 %
    drawdown when the bar comes."""
    days = sessions("2016-06-13", "2016-07-08")
    first = pd.Timestamp("2016-06-29")
    cut = sessions("2016-06-23", "2016-06-28")
    bars = stock("600000.SH", days, 10.00, {first: (0.50, 1.0, 0, 0)}, missing=cut)
    panel = panel_of(bars, make_bars("600001.SH", days, close=[5.0] * len(days)))
    row = dict(code="600000.SH", ex_date="2016-06-23", record_date="2016-06-22", cash=0.50)
    row["transfer"] = 1.0
    script = {"2016-06-14": [("buy", "600000.SH", 1000)]}
    result = run_script(
        panel, script, "2016-06-14", "2016-07-08", corporate_actions=table(tmp_path, row)
    )
    after_buy = 100_000 - 10_000 - commission(10_000) - 10_000 * 0.00002
    assert result.equity.loc["2016-06-15":].tolist() == pytest.approx(
        [after_buy + 10_000] * len(result.equity.loc["2016-06-15":])
    )
    assert result.events[["date", "event", "shares_after", "cash"]].values.tolist() == [
        [first, "bonus and transferred shares", 2000, 0.0],
        [first, "cash dividend", 2000, 500.0],
    ]


# -- 600036.SH 2010: 10配1.3 at 8.85 (issuer's notice): record 03-04, payment 03-05..03-11 --
# -- while suspended (no bars 03-05 .. 03-12), ex-rights on resumption 03-15 --------------
R = sessions("2010-03-01", "2010-03-19")
GAP = sessions("2010-03-05", "2010-03-12")
EXR = pd.Timestamp("2010-03-15")
RIGHTS = dict(
    code="600036.SH",
    ex_date="2010-03-15",
    record_date="2010-03-04",
    pay_date="2010-03-05",
    rights=0.13,
    rights_price=8.85,
)


def rights_market():
    cmb = stock("600036.SH", R, 16.12, {EXR: (0, 0, 0.13, 8.85)}, missing=GAP)
    return panel_of(cmb, make_bars("600000.SH", R, close=[20.0] * len(R)))


HOLD = {"2010-03-02": [("buy", "600036.SH", 1000)]}


def test_a_rights_issue_subscribed_costs_its_price(tmp_path):
    """130 rights shares paid for on 03-05 (1,150.50 yuan), credited on 03-15 at the
    reference price 15.28 ((16.12 + 8.85 x 0.13) / 1.13 = 15.2836): the holding is worth
    what was paid in, but for the fen's rounding."""
    result = run_script(
        rights_market(), HOLD, "2010-03-02", "2010-03-19", corporate_actions=table(tmp_path, RIGHTS)
    )
    events = result.events.set_index("event")
    assert events.loc["rights subscribed", ["date", "cash"]].tolist() == [
        pd.Timestamp("2010-03-05"),
        -1150.50,
    ]
    assert events.loc["rights shares", ["date", "shares_after"]].tolist() == [EXR, 1130]
    cash_after_buy = 100_000 - 16_120 - commission(16_120) - 1000 * 0.0003
    assert result.cash.loc["2010-03-05"] == pytest.approx(cash_after_buy - 1150.50)
    # paid, not yet credited: counted at what was paid, so equity does not move
    assert result.equity.loc["2010-03-05"] == pytest.approx(result.equity.loc["2010-03-04"])
    assert result.equity.loc[EXR] == pytest.approx(cash_after_buy - 1150.50 + 1130 * 15.28)


def test_a_rights_issue_lapsed_dilutes(tmp_path):
    """Rules.rights = "lapse": no cash paid, 1,000 shares at 15.28: 840 yuan less than
    at 16.12 the day before the ex date."""
    result = run_script(
        rights_market(), HOLD, "2010-03-02", "2010-03-19", rules=Rules(rights="lapse"),
        corporate_actions=table(tmp_path, RIGHTS),
    )  # fmt: skip
    assert result.events[["event", "cash"]].values.tolist() == [["rights lapsed", 0.0]]
    assert result.equity.loc[EXR] - result.equity.loc["2010-03-12"] == pytest.approx(
        1000 * (15.28 - 16.12)
    )


def test_without_a_table_a_rights_issue_is_free_shares():
    """The adjustment factor alone (16.12 / 15.28 = 1.05497): 1,054 shares for 1,000 and
    the fraction in cash, nothing paid: the approximation a table replaces."""
    result = run_script(rights_market(), HOLD, "2010-03-02", "2010-03-19")
    assert result.events[["event", "shares_after"]].values.tolist() == [["ex-rights", 1054]]
    assert result.cash.loc["2010-03-05"] == result.cash.loc["2010-03-04"]


class Picky(Scripted):
    """Takes ``take`` of the rights shares offered."""

    take: object = 100

    def rights_issue(self, offer):
        self.offers = [*getattr(self, "offers", []), offer]
        return self.take


def test_a_strategy_says_how_many_rights_to_take(tmp_path):
    Picky.take = 100
    result = run_script(
        rights_market(), HOLD, "2010-03-02", "2010-03-19", strategy=Picky,
        corporate_actions=table(tmp_path, RIGHTS),
    )  # fmt: skip
    assert result.events[["event", "cash"]].values.tolist() == [
        ["rights subscribed", -885.0],
        ["rights lapsed", 0.0],
        ["rights shares", 0.0],
    ]
    assert "30 of 130 offered at 8.85 yuan" in result.events["note"].iloc[1]
    Picky.take = 50.5
    with pytest.raises(StrategyError, match=r"rights_issue\(600036.SH, 2010-03-04\) must return"):
        run_script(
            rights_market(), HOLD, "2010-03-02", "2010-03-19", strategy=Picky,
            corporate_actions=table(tmp_path, RIGHTS),
        )  # fmt: skip


def test_rights_take_what_the_cash_pays_for(tmp_path):
    """16,120 + 5.30 spent of 16,900 yuan: 774.70 left pays for 87 rights shares of 130."""
    result = run_script(
        rights_market(), HOLD, "2010-03-02", "2010-03-19", cash=16_900.0,
        corporate_actions=table(tmp_path, RIGHTS),
    )  # fmt: skip
    subscribed = result.events[result.events["event"] == "rights subscribed"]
    assert subscribed["cash"].tolist() == [-87 * 8.85]
    lapsed = result.events[result.events["event"] == "rights lapsed"]
    assert lapsed["note"].str.endswith("(cash)").all()
    assert (result.cash >= 0).all()


# -- the rules themselves ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("acquired", "sold", "tier"),
    [
        ("2016-06-17", "2016-07-17", "up_to_month"),  # held 06-17 .. 07-16: one month
        ("2016-06-17", "2016-07-18", "up_to_year"),
        ("2016-01-31", "2016-02-29", "up_to_month"),  # no 02-31: the month's last day
        ("2016-01-31", "2016-03-01", "up_to_year"),
        ("2015-06-01", "2016-06-01", "up_to_year"),  # one year to the day
        ("2015-06-01", "2016-06-02", "over_year"),
    ],
)
def test_holding_periods_count_calendar_months_and_years(acquired, sold, tier):
    assert holding_tier(pd.Timestamp(acquired), pd.Timestamp(sold)) == tier


@pytest.mark.parametrize(
    ("record", "rates"),
    [
        ("2012-12-31", (0.10, 0.10, 0.10, 0.10)),  # 财税〔2005〕102号
        ("2013-01-01", (0.20, 0.10, 0.05, 0.05)),  # 财税〔2012〕85号
        ("2015-09-07", (0.20, 0.10, 0.05, 0.05)),
        ("2015-09-08", (0.20, 0.10, 0.00, 0.00)),  # 财税〔2015〕101号
    ],
)
def test_the_tax_regime_follows_the_record_date(record, rates):
    regime = regime_on(pd.Timestamp(record))
    assert (regime.up_to_month, regime.up_to_year, regime.over_year, regime.withheld) == rates
    assert regime.source


def test_the_books_state_is_plain_data_that_round_trips():
    """What live trading persists between evenings (quant.engine.book)."""
    day = pd.Timestamp("2016-06-23")
    book = BookState(
        lots={"600000.SH": [Lot(day, 1000.0, [Income(day, 0.515, 0.0)])]},
        entitlements=[
            Entitlement("600036.SH", day, day, day, day, 1000.0, rights=0.13, rights_price=8.85)
        ],
        receivables=[Receivable("600000.SH", day, 515.0, 0.0, 1000.0)],
        locked=[Locked("600000.SH", day, 100.0)],
    )
    plain = book.to_dict()
    assert plain["lots"]["600000.SH"][0]["acquired"] == "2016-06-23"
    import json

    assert BookState.from_dict(json.loads(json.dumps(plain))) == book
    assert book.pending_value() == 515.0 and book.locked_shares("600000.SH") == 100.0


@pytest.mark.parametrize("rules", [Rules(), Rules(rights="lapse")])
def test_cash_replays_from_the_trades_and_events(tmp_path, rules):
    """Every yuan that moved is in the logs: the last cash is the first, less what the
    buys cost, plus what the sells brought, less every cost (the dividend tax included),
    plus the events' cash (dividends paid, rights paid for, fractions of a share)."""
    days = sessions("2010-03-01", "2010-03-19")
    cmb = stock("600036.SH", days, 16.12, {EXR: (0, 0, 0.13, 8.85)}, missing=GAP)
    spdb = stock("600000.SH", days, 20.0, {pd.Timestamp("2010-03-10"): (0.3, 0.5, 0, 0)})
    spdb_row = dict(
        code="600000.SH", ex_date="2010-03-10", record_date="2010-03-09", cash=0.3, bonus=0.5
    )
    script = {
        "2010-03-02": [("buy", "600036.SH", 1000), ("buy", "600000.SH", 1000)],
        "2010-03-16": [("target", "600036.SH", 0), ("target", "600000.SH", 0)],
    }
    result = run_script(
        panel_of(cmb, spdb), script, "2010-03-02", "2010-03-19", rules=rules,
        corporate_actions=table(tmp_path, RIGHTS, spdb_row),
    )  # fmt: skip
    fills, events = result.fills, result.events
    signed = fills["value"].where(fills["side"] == "sell", -fills["value"])
    replayed = 100_000 + signed.sum() - fills["costs"].sum() + events["cash"].sum()
    assert result.cash.iloc[-1] == pytest.approx(replayed, abs=1e-9)
    paid = events[events["event"] == "cash dividend"]
    assert paid[["cash", "tax"]].values.tolist() == [
        [300 - 80, 80]
    ]  # 2010: 10 % of (0.3 + 0.5 par)
    assert result.equity.iloc[-1] == result.cash.iloc[-1]  # all sold, nothing owed


def test_the_reports_say_which_fees_and_actions_were_applied(tmp_path):
    """The 5-day hold above through the Python API into a run folder: report.md and
    report.html both name the fee rows and the table applied and the hand-computed
    dividend (515.00 yuan) and tax settled at the sale (103.00), the two minimum commissions
    (5 + 5), the transfer fee (0.02 per mille of 17,890 + 17,380) and the stamp duty (17.38)."""
    import quant

    panel = panel_of(stock("600000.SH", J16, 17.89, {EX16: (0.515, 0.1, 0, 0)}))
    script = {
        "2016-06-16": [["buy", "600000.SH", 1000]],
        "2016-06-23": [["sell", "600000.SH", 1100]],
    }
    actions = table(tmp_path, PF16)
    result = quant.backtest(
        panel=panel, index_panel=panel, start="2016-06-14", end="2016-06-30", cash=100_000.0,
        strategies=[Scripted], params={"Scripted": {"script": script}}, baselines=[],
        workers=1, corporate_actions=actions, progress=False,
    )  # fmt: skip
    out = result.write(tmp_path / "run")
    expected = (
        "**Scripted**: commission 10, transfer fee 0.71, stamp duty 17, dividend tax at sales "
        "103.00 yuan; dividends received 515.00 (tax withheld 0.00); corporate actions: cash "
        "dividend 1, bonus and transferred shares 1"
    )
    assert expected in (out / "report.md").read_text()
    page = (out / "report.html").read_text()
    assert "Corporate actions, taxes and fees</h2>" in page
    assert expected.replace("**Scripted**", "<strong>Scripted</strong>") in page
    for text in ("SH from 2015-08-01: 0.02 per mille of value, both sides", "actions.csv"):
        assert text in page


def test_a_row_the_factor_does_not_bear_out_stops_the_backtest(tmp_path):
    """The 600000.SH row dated a session after the factor's change (06-24): applied, the
    factor's ratio would scale 1,000 shares to 1,100 on 06-23 and the row would pay its
    dividend and shares again on 06-24. The run is refused in one line naming the row's
    code, date and both ratios, as is the same row read per 10 shares (cash 5.15)."""
    panel = panel_of(stock("600000.SH", J16, 17.89, {EX16: (0.515, 0.1, 0, 0)}))
    script = {"2016-06-16": [("buy", "600000.SH", 1000)]}
    late = dict(PF16, ex_date="2016-06-24", record_date="2016-06-23", pay_date="2016-06-24")
    for row, shown in (
        (late, "600000.SH 2016-06-24"),
        (dict(PF16, cash=5.15), "600000.SH 2016-06-23"),
    ):
        with pytest.raises(
            DataError,
            match=rf"1 rows imply .*\({shown} \(\d\.\d{{4}} vs \d\.\d{{4}}\)\).*: correct or remove",
        ) as raised:
            run_script(
                panel, script, "2016-06-14", "2016-06-30", corporate_actions=table(tmp_path, row)
            )
        assert "\n" not in str(raised.value)
