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
from torch import nn

from quant import progress
from quant.data.panel import MarketPanel
from quant.features import (
    Bars,
    CNNInputs,
    CNNLabels,
    cnn_inputs,
    cnn_labels,
    cnn_returns,
    lstm_windows,
    standardise,
    window_ends,
)
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
from quant.signals.models import FolderModels, ModelStore
from quant.signals.plan import Block, Run, walk_forward
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
        features.advance()
        run, blocks, inputs, labels, window_ok = _features(
            panel, config, folder, device, FolderModels(folder.parent / MODELS), features
        )
        eval_positions = pooled_test_sample(run, blocks, window_ok)
        features.advance()

    selections, returns, timings, training = [], [], [], []
    pooled: list[tuple[np.ndarray, np.ndarray]] = []
    for block in blocks:
        lstm, selection, timing, record = _block(run, block, inputs, labels, window_ok)
        training.append(record)
        selections.append(selection)
        returns.append(labels.ret[np.isin(inputs.month, block.test_months)])
        timings.append(timing)
        month = run.holding_month(run.bars.row[eval_positions])
        mine = eval_positions[np.isin(month, block.test_months)]
        pooled.append((class_one_probability(lstm, lstm_windows(run.bars, mine)), mine))

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


def book_tables(
    panel: MarketPanel, config: SignalConfig, models: ModelStore, *, device: str | None = None
) -> tuple[pd.DataFrame, pd.DataFrame, list[dict]]:
    """A paper book's evening (quant.live): the selection and timing tables of ``config``
    on ``panel``, the data as known at the evening's close (quant.data.asof: its last row is
    the next session, without bars), and the training record of each block. The ranker of
    every block scores its months (the selections a strategy's plan names), the timer of
    the evening's block calls the days of the evening's holding month so far: the rows a
    backtest's build gives for those months and days (:func:`build_signals`, the same
    functions; predictions of a fixed batch shape, quant.models.training.predict), without
    quality figures or a cache of tables (the data change every evening). Models come from
    ``models`` (quant.signals.models); a block's are trained, and kept there, on the
    evening of its "now" when the store lacks them. On one torch thread: an evening's
    predictions are a few small batches, which a second thread only slows down on a
    machine with other work (the rows are the same: tests/test_live_replay.py)."""
    with _torch_threads(1):
        return _book_tables(panel, config, models, device)


def _book_tables(
    panel: MarketPanel, config: SignalConfig, models: ModelStore, device: str | None
) -> tuple[pd.DataFrame, pd.DataFrame, list[dict]]:
    months = panel.calendar.months
    bars = Bars.of(panel)
    blocks = walk_forward(months, config)
    window_ok = window_ends(bars, config.lstm.max_span)
    run = Run(panel, months, bars, config, None, device, models)
    month = int(run.holding_month(np.array([len(panel.dates) - 2]))[0])
    features: list[tuple[CNNInputs, CNNLabels]] = []

    def learned() -> tuple[CNNInputs, CNNLabels]:  # every month's: only to train a ranker
        if not features:
            inputs = cnn_inputs(panel, months, bars)
            features.append((inputs, cnn_labels(panel, months, inputs)))
        return features[0]

    selections, timings, training = [], [], []
    for block in blocks:
        cnn, cnn_record = train_or_load(
            run, block, "cnn", lambda b=block: ranker_training_set(run, b, *learned())
        )
        test = standardise(cnn_returns(panel, months, bars, block.test_months))
        selection = selection_table(run, test, class_one_probability(cnn, test.x))
        selections.append(selection)
        record = {"block": block.name, "cnn": cnn_record}
        if month in block.test_months:
            lstm, record["lstm"] = train_or_load(
                run, block, "lstm", partial(timer_training_set, run, block, window_ok)
            )
            decided = panel.dates[months.decision_row[month]]
            current = selection[selection["decision_date"] == decided]
            timings.append(timing_table(run, current, window_ok, lstm))
        training.append(record)
    selection = pd.concat(selections, ignore_index=True)
    selection = selection.sort_values(["decision_date", "rank"]).reset_index(drop=True)
    timing = pd.concat(timings, ignore_index=True) if timings else _no_timing()
    return selection, timing, training


def _no_timing() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "date": pd.DatetimeIndex([]),
            "code": pd.Series([], dtype=object),
            "decision_date": pd.DatetimeIndex([]),
            "signal": pd.Series([], dtype=np.int64),
            "probability": pd.Series([], dtype=np.float64),
        }
    )


#: The folder of the signal cache that keeps models by what they learned from.
MODELS = "models"


def _features(
    panel: MarketPanel,
    config: SignalConfig,
    folder: Path | None,
    device: str | None,
    models: ModelStore,
    step: progress.Step | None = None,
) -> tuple[Run, list[Block], CNNInputs, CNNLabels, np.ndarray]:
    """What every block of a build reads: the run, the walk-forward blocks, the CNN's
    inputs and labels, and which bars end a window the LSTM can read."""
    months = panel.calendar.months
    bars = Bars.of(panel)
    blocks = walk_forward(months, config)
    inputs = cnn_inputs(panel, months, bars)
    _advance(step)
    labels = cnn_labels(panel, months, inputs)
    _advance(step)
    window_ok = window_ends(bars, config.lstm.max_span)
    _advance(step)
    return (
        Run(panel, months, bars, config, folder, device, models),
        blocks,
        inputs,
        labels,
        window_ok,
    )


def _advance(step: progress.Step | None) -> None:
    if step is not None:
        step.advance()


def _block(
    run: Run, block: Block, inputs: CNNInputs, labels: CNNLabels, window_ok: np.ndarray
) -> tuple[nn.Module, pd.DataFrame, pd.DataFrame, dict]:
    """One block: its ranker and timer (trained or loaded), its selection and timing
    tables, its training record."""
    cnn, cnn_record = train_or_load(
        run, block, "cnn", partial(ranker_training_set, run, block, inputs, labels)
    )
    lstm, lstm_record = train_or_load(
        run, block, "lstm", partial(timer_training_set, run, block, window_ok)
    )
    test = inputs.take(np.isin(inputs.month, block.test_months))
    selection = selection_table(run, test, class_one_probability(cnn, test.x))
    timing = timing_table(run, selection, window_ok, lstm)
    record = {"block": block.name, "cnn": cnn_record, "lstm": lstm_record}
    return lstm, selection, timing, record
