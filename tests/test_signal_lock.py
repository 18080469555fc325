"""Builds of the same signal tables at once (two strategies of a run, two cells of a sweep)
train once: the others wait on the lock and read the first one's tables."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pandas as pd

import quant.signals.build as signal_build
from quant.signals import SignalConfig, SignalTables, build_signals
from quant.signals.cache import load_tables, save_tables
from tests.test_features import panel_of, synthetic_market

PANEL = panel_of(synthetic_market(n_codes=3, n_days=60, start="2014-01-02", seed=1))


def test_concurrent_builds_of_the_same_tables_train_once(tmp_path, monkeypatch):
    trained = []

    def fake_build(panel, config, folder: Path, key: str, device) -> SignalTables:
        trained.append(key)
        time.sleep(0.5)  # long enough for the other build to arrive meanwhile
        frame = pd.DataFrame({"x": [1]})
        save_tables(SignalTables(frame, frame, frame, {"quality": {}}, folder))
        return load_tables(folder)

    monkeypatch.setattr(signal_build, "_build", fake_build)
    results: list[SignalTables] = []

    def build() -> None:
        results.append(build_signals(PANEL, SignalConfig(), tmp_path))

    threads = [threading.Thread(target=build) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(trained) == 1
    assert len(results) == 3 and len({r.folder for r in results}) == 1
