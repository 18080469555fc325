"""CNN inputs, LSTM windows and their labels: hand-checked values, and the property that
changing the data after a date never changes what was computed for that date."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from quant.data import MarketPanel
from quant.features import (
    WINDOW,
    Bars,
    CNNInputs,
    cnn_inputs,
    cnn_labels,
    cnn_returns,
    forward_returns,
    lstm_windows,
    standardise,
    window_ends,
)
from quant.market.calendar import Months, TradingCalendar
from tests.conftest import make_bars, sessions


def synthetic_market(
    n_codes: int = 6, n_days: int = 420, start: str = "2019-01-01", seed: int = 0
) -> pd.DataFrame:
    """Random-walk bars with the awkward cases of real data: a late listing, a code that
    stops trading, a long suspension, scattered suspended days and a split (raw price
    falls, adj_factor rises). Code 0 trades every day; each code has its own drift."""
    rng = np.random.default_rng(seed)
    dates = sessions(start, periods=n_days)
    frames = []
    for i in range(n_codes):
        drift = rng.normal(0, 0.002)
        close = 10 * np.exp(np.cumsum(rng.normal(drift, 0.02, n_days)))
        factor = np.ones(n_days)
        if i % 6 == 4:  # a 1:1.25 split at day 200: raw price drops, factor rises
            factor[200:] = 1.25
        raw = close / factor
        open_ = raw * (1 + rng.normal(0, 0.005, n_days))
        keep = rng.random(n_days) > (0 if i == 0 else 0.03)
        if i % 6 == 1:
            keep[:80] = False  # listed later
        if i % 6 == 2:
            keep[int(n_days * 0.7) :] = False  # stops trading
        if i % 6 == 3:
            keep[150:175] = False  # a long suspension
        frame = make_bars(
            f"{600000 + i:06d}.SH",
            dates[keep],
            list(raw[keep]),
            open=list(open_[keep]),
            high=list(np.maximum(open_, raw)[keep] * 1.01),
            low=list(np.minimum(open_, raw)[keep] * 0.99),
            volume=list(rng.lognormal(13, 0.5, keep.sum()).round()),
            adj_factor=list(factor[keep]),
        )
        frames.append(frame)
    return pd.concat(frames, ignore_index=True)


def perturb_after(frame: pd.DataFrame, cutoff: pd.Timestamp, seed: int) -> pd.DataFrame:
    """Change every bar after ``cutoff`` (prices, volumes, factors) and drop some of them;
    code 600000.SH keeps all its days so the calendar stays the same."""
    rng = np.random.default_rng(seed)
    frame = frame.copy()
    later = (frame["date"] > cutoff).to_numpy()
    scale = rng.uniform(0.5, 1.5, later.sum())
    for column in ("open", "high", "low", "close"):
        frame.loc[later, column] = frame.loc[later, column].to_numpy() * scale
    frame.loc[later, "volume"] = rng.lognormal(12, 1, later.sum()).round() + 1
    frame.loc[later, "amount"] = frame.loc[later, "volume"] * frame.loc[later, "close"]
    frame.loc[later, "adj_factor"] = frame.loc[later, "adj_factor"] * rng.choice([1, 1.1])
    drop = later & (rng.random(len(frame)) < 0.2) & (frame["code"] != "600000.SH").to_numpy()
    return frame[~drop].reset_index(drop=True)


def months_of(dates: pd.DatetimeIndex) -> Months:
    return TradingCalendar.of(dates)[0].months


def panel_of(frame: pd.DataFrame) -> MarketPanel:
    return MarketPanel.from_frame(frame.sort_values(["code", "date"], ignore_index=True))


# -- the calendar ----------------------------------------------------------------------------
def test_months_decision_and_holding_rows():
    # XSHG sessions: Jan 5, Feb 15 (closed 11-17 for the Spring Festival), Mar 8 (to the 10th)
    dates = sessions("2021-01-25", "2021-03-10")
    months = months_of(dates)
    assert [str(p) for p in months.periods] == ["2021-01", "2021-02", "2021-03"]
    assert list(months.first_row) == [0, 5, 20] and list(months.last_row) == [4, 19, 27]
    assert list(months.complete) == [True, True, False]  # the exchange traded on 11 March
    assert list(months.decision_row) == [-1, 4, 19]  # last session of the previous month
    assert list(months.holding_rows(1)) == list(range(4, 19))  # 29 Jan .. 25 Feb
    assert list(months.holding_rows(2)) == list(range(19, 28))  # 26 Feb .. the end
    assert list(months.end_rows) == [4, 19]
    # sessions that end on their month's last session end complete
    assert months_of(sessions("2021-01-04", "2021-03-31")).complete[-1]
    with pytest.raises(ValueError, match="2020-12 has no trading day"):
        months.index("2020-12")


def test_the_exchange_calendar_knows_a_month_ending_on_a_holiday():
    """2023-09-28 was September's last session (29 September to 6 October closed): the
    exchange calendar says so; a calendar of the data's own dates guesses from weekdays."""
    dates = sessions(end="2023-09-28", periods=30)
    assert TradingCalendar.of(dates)[0].last_month_complete
    assert not TradingCalendar.of(dates, "data")[0].last_month_complete


# -- CNN inputs ---------------------------------------------------------------------------------
ANCHOR = "601999.SH"  # trades every day, so dropping another code's bars leaves the calendar


def growth_panel(
    daily: dict[str, float], days: int = 335, suspended: dict[str, list[int]] | None = None
) -> MarketPanel:
    """Codes whose adjusted close grows by a fixed factor per trading day (rows listed in
    ``suspended`` are dropped); 600000.SH gets a 1:2 split that adjustment must undo."""
    dates = sessions("2020-01-01", periods=days)
    frames = []
    for code, g in daily.items():
        close = 100 * g ** np.arange(days)
        factor = (
            np.where(np.arange(days) >= 100, 2.0, 1.0) if code == "600000.SH" else np.ones(days)
        )
        keep = np.ones(days, dtype=bool)
        keep[(suspended or {}).get(code, [])] = False
        raw = close / factor
        frames.append(make_bars(code, dates[keep], list(raw[keep]), adj_factor=list(factor[keep])))
    return panel_of(pd.concat(frames, ignore_index=True))


MONTHS = months_of(sessions("2020-01-01", periods=335))  # 2020-01-02 .. 2021-05-24


def test_cnn_returns_by_hand():
    panel = growth_panel({"600000.SH": 1.01, "600001.SH": 1.0})
    raw = cnn_returns(panel, MONTHS, Bars.of(panel))
    first = MONTHS.index("2021-03")  # needs month ends 2020-01 .. 2021-02: 14 months
    assert raw.month.min() == first
    assert panel.dates[raw.row.min()] == pd.Timestamp("2021-02-26")  # last business day of Feb
    mine = raw.col == 0
    assert mine.sum() == len(MONTHS.periods) - first
    for k, x in zip(raw.month[mine], raw.x[mine]):
        # month j's return runs from the last close of j-1 to the last close of j
        days = [MONTHS.last_row[j] - MONTHS.last_row[j - 1] for j in range(k - 13, k - 1)]
        np.testing.assert_allclose(x[:12], 1.01 ** np.array(days) - 1, rtol=1e-10)
        np.testing.assert_allclose(x[12:], 0.01, rtol=1e-10)  # the split is adjusted away
    assert np.all(raw.x[raw.col == 1] == 0)


def test_a_code_is_scored_only_when_tradable_on_the_decision_date():
    decision = MONTHS.decision_row[MONTHS.index("2021-04")]
    panel = growth_panel({"600000.SH": 1.01, "600001.SH": 1.0}, suspended={"600001.SH": [decision]})
    raw = cnn_returns(panel, MONTHS, Bars.of(panel))
    scored = set(raw.month[raw.col == 1])
    assert MONTHS.index("2021-04") not in scored and MONTHS.index("2021-03") in scored


def test_daily_returns_run_over_the_codes_own_bars():
    decision = MONTHS.decision_row[MONTHS.index("2021-03")]
    gap = list(range(decision - 6, decision - 2))  # four suspended days just before it
    panel = growth_panel({"600000.SH": 1.0, "600001.SH": 1.01}, suspended={"600001.SH": gap})
    raw = cnn_returns(panel, MONTHS, Bars.of(panel))
    x = raw.x[(raw.col == 1) & (raw.row == decision)][0]
    # the bar-to-bar return across the gap holds 5 days of growth, the others one day
    expected = np.full(20, 0.01)
    expected[-3] = 1.01**5 - 1
    np.testing.assert_allclose(x[12:], expected, rtol=1e-10)


def test_standardise_is_a_per_date_z_score_with_clipping():
    x = np.zeros((5, 32))
    x[:3, 0] = [1.0, 2.0, 3.0]  # date A
    x[3:, 0] = [10.0, 30.0]  # date B: its own mean and std
    inputs = CNNInputs(np.array([7, 7, 7, 8, 8]), np.zeros(5, int), np.arange(5), x)
    z = standardise(inputs).x
    np.testing.assert_allclose(z[:, 0], [-np.sqrt(1.5), 0, np.sqrt(1.5), -1, 1], rtol=1e-6)
    assert np.all(z[:, 1:] == 0) and z.dtype == np.float32  # constant columns: 0, not NaN
    outlier = np.zeros((101, 32))
    outlier[0, 0] = 1000.0  # z = 10 before clipping
    zeros = np.zeros(101, int)
    assert standardise(CNNInputs(zeros, zeros, np.arange(101), outlier)).x[0, 0] == 5.0


def test_cnn_labels_beat_the_median_and_keep_codes_that_stop_trading():
    codes = {"600000.SH": 1.0, "600001.SH": 1.01, "600002.SH": 0.99, "600003.SH": 1.02}
    k = MONTHS.index("2021-03")
    stop = MONTHS.first_row[k] + 5  # 600003 trades 5 days of March, then never again
    panel = growth_panel(codes, suspended={"600003.SH": list(range(stop, 335))})
    inputs = cnn_inputs(panel, MONTHS)
    labels = cnn_labels(panel, MONTHS, inputs)
    march = inputs.month == k
    ret = dict(zip(inputs.col[march], labels.ret[march]))
    label = dict(zip(inputs.col[march], labels.label[march]))
    held = MONTHS.last_row[k] - MONTHS.decision_row[k]
    np.testing.assert_allclose(ret[1], 1.01**held - 1, rtol=1e-10)
    np.testing.assert_allclose(ret[3], 1.02**5 - 1, rtol=1e-10)  # marked at its last close
    # median of (0, 1.01^h - 1, 0.99^h - 1, 1.02^5 - 1) lies between 0 and 0.104
    assert [label[c] for c in range(4)] == [0.0, 1.0, 0.0, 1.0]
    assert np.all(labels.end_row[march] == MONTHS.last_row[k])
    last = inputs.month == inputs.month.max()  # May 2021: the data stops on 24 May
    assert not MONTHS.complete[-1] and np.isnan(labels.label[last]).all()


# -- LSTM windows ---------------------------------------------------------------------------
def with_anchor(frame: pd.DataFrame) -> MarketPanel:
    dates = pd.DatetimeIndex(frame["date"]).union(
        sessions(frame["date"].min(), frame["date"].max())
    )
    return panel_of(pd.concat([frame, make_bars(ANCHOR, dates, [5.0] * len(dates))]))


def test_lstm_window_by_hand():
    dates = sessions("2021-01-04", periods=45)
    close = list(10 + np.arange(45) * 0.1)
    open_ = [c - 0.05 for c in close]
    volume = list(1000.0 + 10 * np.arange(45) ** 2)
    frame = make_bars("600000.SH", dates, close, open=open_, volume=volume)
    bars = Bars.of(with_anchor(frame.drop(index=[20, 21])))  # two suspended days
    end = bars.position(np.array([44]), np.array([0]))[0]
    window = lstm_windows(bars, np.array([end]))[0]
    days = [d for d in range(45) if d not in (20, 21)][-WINDOW:]  # the last 30 bars
    last = close[44]
    np.testing.assert_allclose(window[:, 0], [open_[d] / last - 1 for d in days], rtol=1e-5)
    np.testing.assert_allclose(window[:, 1], [close[d] / last - 1 for d in days], atol=1e-6)
    for column, values in (
        (4, [volume[d] * close[d] for d in days]),
        (5, [volume[d] for d in days]),
    ):
        logged = np.log1p(values)
        np.testing.assert_allclose(
            window[:, column], (logged - logged.mean()) / logged.std(), rtol=1e-4
        )
    assert window.shape == (30, 6) and window.dtype == np.float32


def test_window_ends_need_30_bars_within_the_span():
    dates = sessions("2021-01-04", periods=80)
    frame = make_bars("600000.SH", dates, list(np.linspace(10, 12, 80)))
    bars = Bars.of(with_anchor(frame.drop(index=range(30, 50))))  # 20 suspended days
    mine = bars.col == 0
    ok = window_ends(bars, max_span=40)
    assert bars.row[mine & ok].min() == 29  # the 30th bar
    # from row 50 to 78 the last 30 bars reach back across the gap: 49 days > 40
    across = mine & (bars.row >= 50) & (bars.row <= 78)
    assert not ok[across].any() and ok[mine & (bars.row == 79)].all()
    assert window_ends(bars, max_span=60)[across].all()


def test_forward_returns_use_the_carried_close_five_days_on():
    dates = sessions("2021-01-04", periods=12)
    close = [float(10 + d) for d in range(12)]
    panel = with_anchor(make_bars("600000.SH", dates, close).drop(index=[7]))  # suspended day 7
    ret, label_row = forward_returns(panel, np.array([0, 2, 8]), np.array([0, 0, 0]))
    # day 2 + 5 = day 7 is suspended: the holder is marked at day 6's close
    np.testing.assert_allclose(ret[:2], [close[5] / close[0] - 1, close[6] / close[2] - 1])
    assert np.isnan(ret[2]) and list(label_row) == [5, 7, 13]  # 8 + 5 is past the data


# -- no look-ahead -----------------------------------------------------------------------------
NEVER = pd.Timestamp.max


@dataclass(frozen=True)
class Keyed:
    """Values keyed by (date, code), with the date each one becomes known."""

    index: pd.MultiIndex
    values: np.ndarray
    known: pd.DatetimeIndex

    def known_by(self, cutoff: pd.Timestamp) -> tuple[pd.MultiIndex, np.ndarray]:
        keep = self.known <= cutoff
        return self.index[keep], self.values[keep]


def features_of(panel: MarketPanel) -> dict[str, Keyed]:
    """Every input and label of a panel: inputs are known on their own date, labels on
    their last day."""
    months, bars = panel.calendar.months, Bars.of(panel)
    inputs = cnn_inputs(panel, months, bars)
    labels = cnn_labels(panel, months, inputs)
    ends = np.flatnonzero(window_ends(bars, 60))
    ret, label_row = forward_returns(panel, bars.row[ends], bars.col[ends])

    def keyed(rows, cols, values, known_rows) -> Keyed:
        known = pd.DatetimeIndex(
            [panel.dates[r] if 0 <= r < len(panel.dates) else NEVER for r in known_rows]
        )
        return Keyed(
            pd.MultiIndex.from_arrays([panel.dates[rows], panel.codes[cols]]), values, known
        )

    return {
        "cnn_input": keyed(inputs.row, inputs.col, inputs.x, inputs.row),
        "cnn_label": keyed(inputs.row, inputs.col, labels.label, labels.end_row),
        "lstm_window": keyed(
            bars.row[ends], bars.col[ends], lstm_windows(bars, ends), bars.row[ends]
        ),
        "lstm_label": keyed(
            bars.row[ends], bars.col[ends], ret, np.where(np.isnan(ret), -1, label_row)
        ),
    }


def differs(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    same = (a == b) | (np.isnan(a) & np.isnan(b))
    return ~same.reshape(len(same), -1).all(axis=1)


BASE = synthetic_market()
BASE_FEATURES = features_of(panel_of(BASE))
DATES = panel_of(BASE).dates


@settings(max_examples=12, deadline=None)
@given(cut=st.integers(min_value=60, max_value=400), seed=st.integers(0, 10**6))
def test_changing_the_future_never_changes_a_past_feature_or_label(cut: int, seed: int):
    cutoff = DATES[cut]
    after = features_of(panel_of(perturb_after(BASE, cutoff, seed)))
    changed_later = 0
    for name, before in BASE_FEATURES.items():
        keys, values = before.known_by(cutoff)
        keys_after, values_after = after[name].known_by(cutoff)
        # everything known by the cutoff is still there, bit for bit, and nothing new is
        assert keys.sort_values().equals(keys_after.sort_values()), name
        np.testing.assert_array_equal(values_after[keys_after.get_indexer(keys)], values)
        later = before.known > cutoff
        position = after[name].index.get_indexer(before.index[later])
        found = position >= 0
        changed_later += differs(
            before.values[later][found], after[name].values[position[found]]
        ).sum()
    assert changed_later > 0  # the perturbation bites: the test is not vacuous


def test_inputs_ignore_the_month_they_predict():
    """Labels are never inputs: rewriting a whole holding month changes its labels but not
    the inputs of its decision date."""
    k = MONTHS_BASE.index("2020-07")  # decided on 2020-06-30, when 5 codes are scored
    decision = DATES[MONTHS_BASE.decision_row[k]]
    after = features_of(panel_of(perturb_after(BASE, decision, seed=3)))
    at = BASE_FEATURES["cnn_input"].index.get_level_values(0) == decision
    keys = BASE_FEATURES["cnn_input"].index[at]
    assert len(keys) >= 4
    for name, changed in (("cnn_input", False), ("cnn_label", True)):
        before, now = BASE_FEATURES[name], after[name]
        b = before.values[before.index.get_indexer(keys)]
        a = now.values[now.index.get_indexer(keys)]
        assert differs(b, a).any() == changed, name


MONTHS_BASE = months_of(DATES)
