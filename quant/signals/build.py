"""One build of the walk-forward signals: the features, then per block its ranker and timer
(trained or loaded), their tables and their quality, saved to the cache."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from functools import partial
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from filelock import FileLock

from quant import progress
from quant.data.panel import MarketPanel
from quant.features import Bars, cnn_inputs, cnn_labels, lstm_windows, window_ends
from quant.io import remove_stale_temporaries
from quant.manifest import DamagedError
from quant.signals.cache import (
    CACHE_VERSION,
    SignalTables,
    cache_key,
    discard_tables,
    load_tables,
    save_tables,
)
from quant.signals.config import SignalConfig
from quant.signals.plan import Run, walk_forward
from quant.signals.quality import (
    pooled_quality,
    pooled_test_sample,
    ranking_quality,
    timing_quality,
)
from quant.signals.tables import class_one_probability, selection_table, timing_table
from quant.signals.training import ranker_training_set, timer_training_set, train_or_load

log = logging.getLogger(__name__)


def build_signals(
    panel: MarketPanel,
    config: SignalConfig,
    cache_dir: str | Path,
    *,
    device: str | None = None,
    threads: int | None = None,
) -> SignalTables:
    """Train (or reuse) the models and return the signal tables. A second call with the same
    data and config reads them from ``cache_dir`` and trains nothing; checkpoints of every
    model are kept there too, so an interrupted build resumes without retraining (temporary
    files a killed build left are removed first). Processes building the same tables at
    once (the strategies of a run, the cells of a sweep) take turns on a lock file: the
    first trains, the others then read its tables. A cached file that differs from the
    checksum in its folder's manifest (a truncated table, a flipped bit, a checkpoint
    from elsewhere) is reported in one warning line and built again, never used.
    ``threads`` caps torch's CPU threads
    meanwhile (1 is fastest on a busy shared machine). Progress: the ``features`` stage,
    then each model's training by epoch (see quant.progress). A SignalError when the spans
    leave a model nothing to learn from or predict."""
    key = cache_key(panel, config)
    folder = Path(cache_dir) / key
    remove_stale_temporaries(cache_dir, recursive=True)
    Path(cache_dir).mkdir(parents=True, exist_ok=True)
    with FileLock(Path(cache_dir) / f"{key}.lock"):
        try:
            cached = load_tables(folder)
        except DamagedError as error:
            log.warning("%s: the signal tables are built again", error)
            discard_tables(folder)
            cached = None
        if cached is not None:
            log.info("signal tables reused from %s", folder)
            return cached
        with _torch_threads(threads):
            return _build(panel, config, folder, key, device)


@contextmanager
def _torch_threads(threads: int | None) -> Iterator[None]:
    before = torch.get_num_threads()
    if threads:
        torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def _build(
    panel: MarketPanel, config: SignalConfig, folder: Path, key: str, device: str | None
) -> SignalTables:
    with progress.step("features", 5, "step") as features:
        months = panel.calendar.months
        bars = Bars.of(panel)
        blocks = walk_forward(months, config)
        features.advance()
        inputs = cnn_inputs(panel, months, bars)
        features.advance()
        labels = cnn_labels(panel, months, inputs)
        features.advance()
        window_ok = window_ends(bars, config.lstm.max_span)
        features.advance()
        run = Run(panel, months, bars, config, folder, device)
        eval_positions = pooled_test_sample(run, blocks, window_ok)
        features.advance()

    selections, returns, timings, training = [], [], [], []
    pooled: list[tuple[np.ndarray, np.ndarray]] = []
    for block in blocks:
        cnn, cnn_record = train_or_load(
            run, block, "cnn", partial(ranker_training_set, run, block, inputs, labels)
        )
        lstm, lstm_record = train_or_load(
            run, block, "lstm", partial(timer_training_set, run, block, window_ok)
        )
        training.append({"block": block.name, "cnn": cnn_record, "lstm": lstm_record})

        in_block = np.isin(inputs.month, block.test_months)
        test = inputs.take(in_block)
        selection = selection_table(run, test, class_one_probability(cnn, test.x))
        selections.append(selection)
        returns.append(labels.ret[in_block])
        timings.append(timing_table(run, selection, window_ok, lstm))
        month = run.holding_month(bars.row[eval_positions])
        mine = eval_positions[np.isin(month, block.test_months)]
        pooled.append((class_one_probability(lstm, lstm_windows(bars, mine)), mine))

    selection = pd.concat(selections, ignore_index=True)
    cnn_monthly, cnn_quality = ranking_quality(
        selection, np.concatenate(returns), config.top_fraction
    )
    selection = selection.sort_values(["decision_date", "rank"]).reset_index(drop=True)
    timing = pd.concat(timings, ignore_index=True)
    probability, positions = (np.concatenate(part) for part in zip(*pooled, strict=True))
    report = {
        "key": key,
        "version": CACHE_VERSION,
        "config": config.to_dict(),
        "quality": {
            "cnn": cnn_quality,
            "lstm": {
                "timing": timing_quality(run, timing),
                "pooled": pooled_quality(run, probability, positions),
            },
        },
        "training": training,
    }
    save_tables(SignalTables(selection, timing, cnn_monthly, report, folder))
    tables = load_tables(folder)  # exactly what a later call will read
    assert tables is not None
    return tables
