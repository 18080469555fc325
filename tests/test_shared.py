"""The panel handed to workers through shared memory: every array of the object, whatever
its fields, travels out of band and comes back as a read-only view, equal to the original."""

from __future__ import annotations

import dataclasses
import logging
import pickle

import numpy as np
import pandas as pd
import pytest

from quant import shared
from quant.data import MarketPanel, load_bars
from quant.data.sample import SAMPLE_STOCKS


@dataclasses.dataclass(frozen=True, eq=False)
class WiderPanel(MarketPanel):
    """A panel with a field the sharing code has never heard of."""

    halted_by_rule: np.ndarray | None = None


@pytest.fixture(scope="module")
def panel() -> WiderPanel:
    codes = pd.read_parquet(SAMPLE_STOCKS, columns=["code"])["code"].astype(str).unique()[:50]
    base = MarketPanel.from_frame(load_bars("sample", codes=list(codes)))
    fields = {f.name: getattr(base, f.name) for f in dataclasses.fields(MarketPanel)}
    return WiderPanel(**fields, halted_by_rule=np.zeros(base.close.shape, dtype=bool))


def arrays(panel: MarketPanel) -> dict[str, np.ndarray]:
    return {
        f.name: getattr(panel, f.name)
        for f in dataclasses.fields(panel)
        if isinstance(getattr(panel, f.name), np.ndarray)
    }


def test_every_array_is_shared_and_comes_back_equal_and_read_only(panel):
    with shared.shared(panel) as handle:
        loaded = pickle.loads(pickle.dumps(handle)).load()  # as a worker receives it
        assert handle.block is not None
        # what is pickled in band is small beside the arrays (the calendar's sessions, names)
        assert len(handle.pickled) < sum(a.nbytes for a in arrays(panel).values()) / 50
        assert type(loaded) is WiderPanel and "halted_by_rule" in arrays(loaded)
        for name, array in arrays(panel).items():
            np.testing.assert_array_equal(getattr(loaded, name), array)
            assert not getattr(loaded, name).flags.writeable, name
        pd.testing.assert_index_equal(loaded.dates, panel.dates)
        pd.testing.assert_index_equal(loaded.codes, panel.codes)
        with pytest.raises(ValueError, match="read-only"):
            loaded.close[0, 0] = 1.0  # a worker cannot change another run's data


def test_without_room_for_it_each_worker_gets_a_copy(panel, monkeypatch, caplog):
    monkeypatch.setattr(shared, "_room_for", lambda size: False)
    with caplog.at_level(logging.WARNING), shared.shared(panel) as handle:
        loaded = handle.load()
    assert handle.block is None and "each worker gets a copy" in caplog.text
    np.testing.assert_array_equal(loaded.limit_up, panel.limit_up)
