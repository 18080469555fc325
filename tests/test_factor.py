"""Factor analysis (quant.metrics.factor) on a hand-made ranking whose IC, quantile returns
and turnover are known, and against alphalens-reloaded on a random one (the same
definitions give the same numbers to the digit)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from alphalens import performance

from quant.metrics.factor import (
    factor_summary,
    ic_series,
    quantile_of,
    quantile_returns,
    top_turnover,
)

DATES = pd.to_datetime(["2015-01-30", "2015-02-27"])
CODES = [f"{k:06d}.SZ" for k in range(1, 11)]
#: return_20's ranks against the scores' 1..10 on the first date: neighbours swapped, so
#: sum(d^2) = 10 and Spearman's rho = 1 - 6 x 10 / (10 x 99) = 1 - 60 / 990.
SWAPPED = [2, 1, 4, 3, 6, 5, 8, 7, 10, 9]


def hand_made() -> pd.DataFrame:
    """Two dates of ten codes. First date: scores 1..10 and return_1 = score / 100 (IC 1),
    return_5 = -score / 100 (IC -1), return_20 = SWAPPED / 100. Second date: the order of
    the scores reversed (codes 1 and 2 now on top), returns as on the first date by score."""
    rows = []
    for k, date in enumerate(DATES):
        for j, code in enumerate(CODES):
            score = j + 1 if k == 0 else 10 - j
            rows.append(
                {
                    "decision_date": date,
                    "code": code,
                    "score": float(score),
                    "return_1": score / 100,
                    "return_5": -score / 100,
                    "return_20": SWAPPED[score - 1] / 100,
                }
            )
    return pd.DataFrame(rows)


def test_the_ic_of_a_hand_made_ranking():
    ic = ic_series(hand_made())
    assert list(ic.columns) == [1, 5, 20]
    assert ic[1].tolist() == pytest.approx([1.0, 1.0])
    assert ic[5].tolist() == pytest.approx([-1.0, -1.0])
    assert ic[20].tolist() == pytest.approx([1 - 60 / 990] * 2)


def test_quantile_returns_and_spread_of_a_hand_made_ranking():
    frame = hand_made()
    # quintiles of ten: scores 1-2, 3-4, 5-6, 7-8, 9-10
    assert quantile_of(frame)[:10].tolist() == [1, 1, 2, 2, 3, 3, 4, 4, 5, 5]
    table = quantile_returns(frame, 1)
    assert table.loc[DATES[0]].tolist() == pytest.approx([0.015, 0.035, 0.055, 0.075, 0.095])
    assert table.loc[DATES[1]].tolist() == pytest.approx([0.015, 0.035, 0.055, 0.075, 0.095])
    summary = factor_summary(frame)
    one = summary["by_horizon"]["1"]
    assert one["spread"] == pytest.approx(0.08)  # (9 + 10) / 200 - (1 + 2) / 200
    assert one["quantile_returns"]["5"] == pytest.approx(0.095)
    assert one["ic_mean"] == pytest.approx(1.0) and one["dates"] == 2
    five = summary["by_horizon"]["5"]
    assert five["spread"] == pytest.approx(-0.08) and five["ic_positive"] == 0.0
    # return_20 by quintile: ranks (2, 1), (4, 3), ... -> the same means as return_1
    assert summary["by_horizon"]["20"]["spread"] == pytest.approx(0.08)
    assert summary["dates"] == 2 and summary["names"] == 10


def test_top_turnover_counts_the_new_top_names():
    frame = hand_made()
    # top quintile: codes 9, 10 on the first date, codes 1, 2 on the second: all new
    assert top_turnover(frame).tolist()[1] == pytest.approx(1.0)
    # with a `selected` column, what was bought: codes 8, 9, 10, then 1, 2, 10
    bought = {(DATES[0], c) for c in CODES[7:]} | {
        (DATES[1], c) for c in ["000001.SZ", "000002.SZ", CODES[9]]
    }
    frame["selected"] = [(d, c) in bought for d, c in zip(frame["decision_date"], frame["code"])]
    turnover = top_turnover(frame)
    assert np.isnan(turnover.iloc[0]) and turnover.iloc[1] == pytest.approx(2 / 3)
    assert factor_summary(frame)["top"] == "selected"


def test_missing_returns_and_scores_are_left_out():
    frame = hand_made()
    frame.loc[frame["score"] == 10, "return_1"] = np.nan  # the top code of each date
    frame.loc[0, "score"] = np.nan  # one score missing on the first date
    ic = ic_series(frame, [1])
    assert ic[1].tolist() == pytest.approx([1.0, 1.0])  # still perfectly ordered
    # first date: 9 scores left -> quantiles by ceil(rank x 5 / 9)
    first = quantile_of(frame)[:10]
    assert np.isnan(first.iloc[0]) and first[1:].tolist() == [1, 2, 2, 3, 3, 4, 4, 5, 5]


def test_the_figures_agree_with_alphalens_to_the_digit():
    rng = np.random.default_rng(7)
    dates = pd.date_range("2015-01-30", periods=12, freq="BME")
    codes = [f"{k:06d}.SH" for k in range(600000, 600050)]
    index = pd.MultiIndex.from_product([dates, codes], names=["date", "asset"])
    score = rng.normal(size=len(index))
    returns = {
        h: 0.01 * score * h**0.5 + rng.normal(scale=0.05, size=len(index)) for h in (1, 5, 20)
    }
    ours = pd.DataFrame(
        {
            "decision_date": index.get_level_values("date"),
            "code": index.get_level_values("asset"),
            "score": score,
            **{f"return_{h}": r for h, r in returns.items()},
        }
    )
    theirs = pd.DataFrame({f"{h}D": r for h, r in returns.items()}, index=index)
    theirs["factor"] = score
    theirs["factor_quantile"] = quantile_of(ours).to_numpy().astype(int)
    expected_ic = performance.factor_information_coefficient(theirs)
    ic = ic_series(ours)
    for h in (1, 5, 20):
        np.testing.assert_allclose(ic[h].to_numpy(), expected_ic[f"{h}D"].to_numpy(), rtol=1e-12)
    by_quantile, _ = performance.mean_return_by_quantile(theirs, demeaned=False)
    summary = factor_summary(ours)
    for h in (1, 5, 20):
        mine = summary["by_horizon"][str(h)]["quantile_returns"]
        # alphalens means over all rows of a quantile; with 10 names per quintile and date
        # that is the mean of the dates' means
        np.testing.assert_allclose(
            [mine[str(q)] for q in range(1, 6)], by_quantile[f"{h}D"].to_numpy(), rtol=1e-12
        )
    # and alphalens' own quintiles (pd.qcut of the scores) are ours when nothing ties
    cut = theirs.groupby(level="date")["factor"].transform(
        lambda s: pd.qcut(s, 5, labels=False) + 1
    )
    assert (cut.to_numpy() == theirs["factor_quantile"].to_numpy()).all()
