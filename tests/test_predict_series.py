"""A single stock's series for the study: adjusted prices, suspended days dropped, stocks and
indices from separate sources."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from quant.data import DataError
from quant.study.series import load_series
from tests.conftest import make_bars, sessions

DAYS = sessions("2015-03-02", periods=5)
# the suspension below is on purpose: its "missing days" warning is expected
pytestmark = pytest.mark.filterwarnings("ignore::quant.data.errors.DataWarning")


@pytest.fixture()
def sources(tmp_path) -> tuple[str, str]:
    # 000538.SZ: suspended on day 2; ex-rights on day 3 (factor 1 -> 2, raw close halves)
    stock = make_bars(
        "000538.SZ",
        DAYS.delete(2),
        close=[10.0, 10.2, 5.2, 5.3],
        adj_factor=[1.0, 1.0, 2.0, 2.0],
        volume=[100.0, 200.0, 300.0, 400.0],
    )
    other = make_bars("600000.SH", DAYS, close=[8.0, 8.1, 8.2, 8.3, 8.4])
    index = make_bars("000006.SH", DAYS, close=[3000.0, 3010.0, 2990.0, 3005.0, 3020.0])
    stock_path, index_path = tmp_path / "stocks.csv", tmp_path / "index.csv"
    pd.concat([stock, other]).to_csv(stock_path, index=False)
    index.to_csv(index_path, index=False)
    return str(stock_path), str(index_path)


def test_adjusted_prices_and_no_row_for_a_suspended_day(sources):
    series = load_series(sources, ["000538.SZ", "000006.SH"])
    stock = series["000538.SZ"]
    assert list(stock.dates) == list(DAYS.delete(2))
    assert stock.close.tolist() == [10.0, 10.2, 10.4, 10.6]  # raw x factor: no fake crash
    assert stock.values[:, 4].tolist() == [100.0, 200.0, 300.0, 400.0]  # volume as traded
    assert np.array_equal(series["000006.SH"].close, [3000.0, 3010.0, 2990.0, 3005.0, 3020.0])


def test_missing_or_duplicated_codes_are_named(sources, tmp_path):
    with pytest.raises(DataError, match=r"codes 000002\.SZ not found"):
        load_series(sources, ["000538.SZ", "000002.SZ"])
    with pytest.raises(DataError, match=r"000538\.SZ on 2015-03-02 appears in more than one"):
        load_series([sources[0], sources[0]], ["000538.SZ"])
