"""The prediction study's price plot: a suspension is drawn as a gap, not a straight line
across it, and the naive "tomorrow = today" close is drawn beside the models'."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pandas as pd

from quant.study.pipeline import SpanPrediction
from quant.study.report import gapped, stock_figure
from tests.conftest import sessions

DAYS = sessions("2015-01-05", periods=200)
#: the stock trades the first 20 sessions, is suspended about six months, then trades 30
TRADED = DAYS[:20].append(DAYS[150:180])


def test_a_suspension_breaks_the_line():
    dates, values = gapped(TRADED, np.arange(len(TRADED), dtype=float))
    assert len(dates) == len(TRADED) + 1
    assert np.isnan(values[20]) and DAYS[19] < pd.Timestamp(dates[20]) < DAYS[150]
    assert np.isfinite(np.delete(values, 20)).all()
    # consecutive sessions across a weekend or a holiday are not a gap
    dates, values = gapped(DAYS[:20], np.ones(20))
    assert len(dates) == 20 and np.isfinite(values).all()


def test_the_plot_has_the_naive_line_and_its_gaps():
    close = 10 + np.arange(len(TRADED)) * 0.1
    test = SpanPrediction(
        dates=TRADED.to_numpy(), predicted=close * 1.01, actual=close,
        previous=np.r_[close[0], close[:-1]], previous_change=np.zeros(len(TRADED)),
    )  # fmt: skip
    run = SimpleNamespace(
        test=test,
        model="lstm",
        code="000538.SZ",
        settings=SimpleNamespace(wavelet="none", step="fixed"),
    )
    axis = stock_figure([run]).axes[0]
    lines = {line.get_label(): line for line in axis.get_lines()}
    assert list(lines) == ["actual close", "naive: tomorrow = today", "lstm predicted"]
    for line in lines.values():
        y = np.asarray(line.get_ydata(), dtype=float)
        assert len(y) == len(TRADED) + 1 and np.isnan(y[20])  # the gap in every line
    naive = np.asarray(lines["naive: tomorrow = today"].get_ydata(), dtype=float)
    assert naive[1] == close[0]  # day 2's naive close is day 1's
