"""Walk-forward training of a ranker and a timer (the CNN and the LSTM of the paper by
default; any :class:`~quant.models.Ranker` / :class:`~quant.models.Timer` by config), and the
signal tables the CNN-LSTM strategy reads, cached on disk by a hash of the data and the
config.

Each model is trained only on samples whose labels are known at the close of the decision
date of its first test month (the "now" of that model), so no test month ever informs the
model that trades it. See docs/cnn_lstm.md.

Tables (one row per ...):

- ``selection`` (holding month, scored code): decision_date, code, score, rank, selected.
- ``timing`` (day, selected code): date, code, decision_date, signal, probability -- the
  LSTM's call at the close of ``date``, to be executed at the next open.
- ``cnn_monthly`` (test month): realised quality of the ranking (never an input).
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import json
import logging
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from filelock import FileLock

from quant import progress
from quant.data.panel import MarketPanel
from quant.features import (
    HORIZON,
    Bars,
    CNNInputs,
    CNNLabels,
    cnn_inputs,
    cnn_labels,
    forward_returns,
    lstm_windows,
    window_ends,
)
from quant.io import remove_stale_temporaries, write_atomic, write_text_atomic
from quant.market.calendar import Months
from quant.metrics.accuracy import always_up_accuracy, direction_accuracy
from quant.metrics.selection import monthly_selection_quality, summarise_selection
from quant.models import Model, Ranker, Timer, train
from quant.models.cnn import CNNRanker
from quant.models.lstm_timer import LSTMTimer
from quant.models.training import (
    TrainResult,
    load_checkpoint,
    pick_device,
    predict,
    save_checkpoint,
)
from quant.selection import top_fraction

log = logging.getLogger(__name__)

#: Bump when a change of the code changes the tables, so old caches are not reused.
CACHE_VERSION = 2
TABLES = ("selection", "timing", "cnn_monthly")

#: The config's model slots and the task each model must serve.
MODEL_SLOTS: dict[str, type[Model]] = {"cnn": Ranker, "lstm": Timer}


@dataclass(frozen=True)
class SignalConfig:
    """What to train on, what to predict, and how.

    The first model learns from holding months ``train_start..train_end``. With
    ``retrain_every = K`` the test months are cut into blocks of K months and each block
    gets its own model trained on an expanding window (``train_start`` up to the month
    before the block); ``None`` trains once. The chronologically last
    ``validation_fraction`` of each model's training span is held out for early stopping.
    ``top_fraction`` of the scored codes (at least one) are selected each month. ``cnn``
    ranks the codes (any :class:`~quant.models.Ranker`), ``lstm`` times them (any
    :class:`~quant.models.Timer`).
    """

    train_start: str = "2010-01"
    train_end: str = "2013-12"
    test_start: str = "2014-01"
    test_end: str = "2017-03"
    retrain_every: int | None = None
    validation_fraction: float = 0.2
    top_fraction: float = 0.01
    seed: int = 0
    cnn: Ranker = field(default_factory=CNNRanker)
    lstm: Timer = field(default_factory=LSTMTimer)

    def __post_init__(self) -> None:
        start, end, test_start, test_end = (
            pd.Period(m, freq="M")
            for m in (self.train_start, self.train_end, self.test_start, self.test_end)
        )
        if not start <= end < test_start <= test_end:
            raise ValueError(
                "need train_start <= train_end < test_start <= test_end, got "
                f"{start}, {end}, {test_start}, {test_end}"
            )
        if self.retrain_every is not None and self.retrain_every < 1:
            raise ValueError(f"retrain_every must be >= 1 month, got {self.retrain_every}")
        if not 0 <= self.validation_fraction < 1:
            raise ValueError(
                f"validation_fraction must be in [0, 1), got {self.validation_fraction}"
            )
        if not 0 < self.top_fraction <= 1:
            raise ValueError(f"top_fraction must be in (0, 1], got {self.top_fraction}")
        for name, task in MODEL_SLOTS.items():
            if not isinstance(getattr(self, name), task):
                raise ValueError(
                    f"{name} must be a {task.kind} (quant.models.{task.__name__}), "
                    f"got {getattr(self, name)!r}"
                )

    def to_dict(self) -> dict[str, Any]:
        """Plain values; each model as its ``{class, kwargs}`` table."""
        values = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        return values | {name: values[name].to_config() for name in MODEL_SLOTS}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], base: SignalConfig | None = None) -> SignalConfig:
        """From plain values (a TOML table) over ``base`` (default: the defaults). ``cnn`` and
        ``lstm`` are each a model name, a ``{class = "module:Class", kwargs = {...}}`` table,
        or a table of settings that changes ``base``'s model; an unknown key is an error
        naming it."""
        base = base or cls()
        known = sorted(f.name for f in dataclasses.fields(cls))
        unknown = sorted(set(data) - set(known))
        if unknown:
            raise ValueError(f"unknown signals setting(s) {unknown}; known: {known}")
        values = dict(data)
        for name, task in MODEL_SLOTS.items():
            if name in values:
                values[name] = task.from_config(
                    values[name], base=getattr(base, name), noun=f"{name} setting"
                )
        return dataclasses.replace(base, **values)


#: ``paper``: the paper's budget on the shared data. ``sample``: a small budget for the
#: built-in sample and `make demo` (about 10 s of training on one CPU thread).
PRESETS: dict[str, SignalConfig] = {
    "paper": SignalConfig(),
    "sample": SignalConfig(
        cnn=CNNRanker(max_epochs=30, patience=5),
        lstm=LSTMTimer(max_epochs=8, patience=3, max_train_windows=30_000, max_eval_windows=20_000),
    ),
}


def preset(name: str) -> SignalConfig:
    if name not in PRESETS:
        raise ValueError(f"unknown signal preset {name!r}; choose one of {sorted(PRESETS)}")
    return PRESETS[name]


@dataclass(frozen=True)
class SignalTables:
    selection: pd.DataFrame
    timing: pd.DataFrame
    cnn_monthly: pd.DataFrame
    #: {"key", "config", "quality": {"cnn", "lstm"}, "training": [one record per model]}
    report: dict[str, Any]
    folder: Path

    @property
    def quality(self) -> dict[str, Any]:
        return self.report["quality"]


# -- walk-forward blocks -------------------------------------------------------------------
@dataclass(frozen=True)
class Block:
    """One model's job: learn from ``train_months``, predict ``test_months``. Its "now" is
    the decision row of its first test month; every label it learns from ends by then."""

    test_months: np.ndarray
    train_months: np.ndarray
    now: int
    name: str


def walk_forward(months: Months, config: SignalConfig) -> list[Block]:
    """The blocks of the configured walk-forward (month indices into ``months``)."""
    k = np.arange(len(months.periods))
    periods = months.periods
    test_start, test_end = (pd.Period(m, freq="M") for m in (config.test_start, config.test_end))
    test = k[(periods >= test_start) & (periods <= test_end) & (months.decision_row >= 0)]
    if not len(test):
        raise ValueError(
            f"no test month in {test_start}..{test_end} has a decision date in the data "
            f"({periods[0]}..{periods[-1]})"
        )
    step = config.retrain_every or len(test)
    train_start = pd.Period(config.train_start, freq="M")
    blocks = []
    for first in range(0, len(test), step):
        chunk = test[first : first + step]
        last_train = pd.Period(config.train_end, freq="M") if first == 0 else periods[chunk[0]] - 1
        train = k[(periods >= train_start) & (periods <= last_train)]
        now = int(months.decision_row[chunk[0]])
        assert (months.last_row[train] <= now).all()  # labels end by "now"
        blocks.append(Block(chunk, train, now, str(periods[chunk[0]])))
    return blocks


def chronological_split(order: np.ndarray, fraction: float) -> np.ndarray:
    """Boolean mask of the validation part: samples whose ``order`` (month or row) is among
    the last ``fraction`` of the distinct values (at least one value when fraction > 0)."""
    values = np.unique(order)
    if fraction == 0 or len(values) < 2:
        return np.zeros(len(order), dtype=bool)
    n_val = min(max(1, round(fraction * len(values))), len(values) - 1)
    return order >= values[-n_val]


# -- the build -----------------------------------------------------------------------------
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
    first trains, the others then read its tables. ``threads`` caps torch's CPU threads
    meanwhile (1 is fastest on a busy shared machine). Progress: the ``features`` stage,
    then each model's training by epoch (see quant.progress)."""
    key = cache_key(panel, config)
    folder = Path(cache_dir) / key
    remove_stale_temporaries(cache_dir, recursive=True)
    Path(cache_dir).mkdir(parents=True, exist_ok=True)
    with FileLock(Path(cache_dir) / f"{key}.lock"):
        cached = load_tables(folder)
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
    panel: MarketPanel,
    config: SignalConfig,
    folder: Path,
    key: str,
    device: str | None,
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
        ctx = _Context(panel, months, bars, config, folder, device)
        eval_positions = _pooled_test_sample(ctx, blocks, window_ok)
        features.advance()

    selections, returns, timings, training = [], [], [], []
    pooled: list[tuple[np.ndarray, np.ndarray]] = []
    for block in blocks:
        cnn, cnn_record = _cnn_model(ctx, block, inputs, labels)
        lstm, lstm_record = _lstm_model(ctx, block, window_ok)
        training.append({"block": block.name, "cnn": cnn_record, "lstm": lstm_record})

        in_block = np.isin(inputs.month, block.test_months)
        test = inputs.take(in_block)
        selection = _selection(ctx, test, _class_one_probability(cnn, test.x))
        selections.append(selection)
        returns.append(labels.ret[in_block])
        timings.append(_timing(ctx, selection, window_ok, lstm))
        month = _holding_month(ctx, bars.row[eval_positions])
        mine = eval_positions[np.isin(month, block.test_months)]
        pooled.append((_class_one_probability(lstm, lstm_windows(bars, mine)), mine))

    selection = pd.concat(selections, ignore_index=True)
    cnn_monthly = monthly_selection_quality(
        selection.assign(**{"return": np.concatenate(returns)}), config.top_fraction
    )
    selection = selection.sort_values(["decision_date", "rank"]).reset_index(drop=True)
    timing = pd.concat(timings, ignore_index=True)
    report = {
        "key": key,
        "version": CACHE_VERSION,
        "config": config.to_dict(),
        "quality": {
            "cnn": summarise_selection(cnn_monthly) | {"samples": len(selection)},
            "lstm": {
                "timing": _timing_accuracy(ctx, timing),
                "pooled": _pooled_accuracy(ctx, pooled),
            },
        },
        "training": training,
    }
    save_tables(SignalTables(selection, timing, cnn_monthly, report, folder))
    tables = load_tables(folder)  # exactly what a later call will read
    assert tables is not None
    return tables


@dataclass(frozen=True)
class _Context:
    panel: MarketPanel
    months: Months
    bars: Bars
    config: SignalConfig
    folder: Path
    device: str | None


def _holding_month(ctx: _Context, rows: np.ndarray) -> np.ndarray:
    """Holding month each row decides for (the month whose decision row is the latest one
    at or before it); -1 before the first decision row."""
    decided = np.flatnonzero(ctx.months.decision_row >= 0)
    at = np.searchsorted(ctx.months.decision_row[decided], rows, side="right") - 1
    return np.where(at >= 0, decided[np.maximum(at, 0)], -1)


def _class_one_probability(model: torch.nn.Module, x: np.ndarray) -> np.ndarray:
    if len(x) == 0:
        return np.empty(0)
    logits = torch.from_numpy(predict(model, x))
    return torch.softmax(logits.double(), dim=1)[:, 1].numpy()


def _load_model(ctx: _Context, path: Path, model: Model) -> tuple[torch.nn.Module, dict[str, Any]]:
    """A network saved by an earlier build with the same key, and its training record."""
    network = model.build()
    record = load_checkpoint(path, network)["record"]
    return network.to(pick_device(ctx.device)), record


# -- CNN -----------------------------------------------------------------------------------
def _cnn_model(
    ctx: _Context, block: Block, inputs: CNNInputs, labels: CNNLabels
) -> tuple[torch.nn.Module, dict[str, Any]]:
    """The block's ranker, loaded from its checkpoint or trained on the block's months."""
    settings = ctx.config.cnn
    path = ctx.folder / f"cnn_{block.name}.pt"
    if path.exists():
        return _load_model(ctx, path, settings)

    use = np.isin(inputs.month, block.train_months) & np.isfinite(labels.label)
    if not use.any():
        raise ValueError(
            f"no CNN training sample in {ctx.config.train_start}..{block.name} (exclusive): "
            "a code needs 14 months of history before its first training month"
        )
    x, y, month = inputs.x[use], labels.label[use].astype(np.int64), inputs.month[use]
    val = chronological_split(month, ctx.config.validation_fraction)
    log.info("CNN %s: %d training, %d validation samples", block.name, (~val).sum(), val.sum())
    start = time.perf_counter()
    model, result = train(
        settings,
        (x[~val], y[~val]),
        (x[val], y[val]) if val.any() else None,
        seed=ctx.config.seed,
        device=ctx.device,
        desc=f"{settings.name} {block.name}",
    )
    periods = ctx.months.periods
    record = {
        "train": int((~val).sum()),
        "validation": int(val.sum()),
        "train_months": _span(periods[month[~val]]),
        "validation_months": _span(periods[month[val]]) if val.any() else None,
        **_result_record(result, time.perf_counter() - start),
    }
    save_checkpoint(path, model, {"record": record, "model": settings.to_config()})
    return model, record


def _selection(ctx: _Context, test: CNNInputs, score: np.ndarray) -> pd.DataFrame:
    """Scores ranked within each decision date (1 = best; ties: the earlier code) and the
    top fraction selected by the platform's one rule, in the row order of ``test``."""
    months, at = np.unique(test.month, return_inverse=True)
    grid = np.full((len(months), len(ctx.panel.codes)), np.nan)
    grid[at, test.col] = score
    chosen = top_fraction(grid, ctx.config.top_fraction)
    order = np.argsort(np.where(np.isfinite(grid), -grid, np.inf), axis=1, kind="stable")
    rank = np.empty_like(order)
    np.put_along_axis(rank, order, np.arange(1, grid.shape[1] + 1)[None, :], axis=1)
    return pd.DataFrame(
        {
            "decision_date": ctx.panel.dates[test.row],
            "code": ctx.panel.codes[test.col].astype(str),
            "score": score.astype(np.float64),
            "rank": rank[at, test.col].astype(np.int64),
            "selected": chosen[at, test.col],
        }
    )


# -- LSTM ----------------------------------------------------------------------------------
def _lstm_model(
    ctx: _Context, block: Block, window_ok: np.ndarray
) -> tuple[torch.nn.Module, dict[str, Any]]:
    """The block's timer, loaded from its checkpoint or trained on a seeded subsample of
    the windows whose 5-day label ends by the block's "now"."""
    settings, bars = ctx.config.lstm, ctx.bars
    path = ctx.folder / f"lstm_{block.name}.pt"
    if path.exists():
        return _load_model(ctx, path, settings)

    first_row = ctx.months.first_row[block.train_months[0]]
    candidates = np.flatnonzero(
        window_ok & (bars.row >= first_row) & (bars.row + HORIZON <= block.now)
    )
    ret, _ = forward_returns(ctx.panel, bars.row[candidates], bars.col[candidates])
    candidates = candidates[np.isfinite(ret) & (ret != 0)]
    rows = bars.row[candidates]
    val = chronological_split(rows, ctx.config.validation_fraction)
    if val.any():  # purge: no training label may reach into the validation days
        val_start = rows[val].min()
        keep = val | (rows + HORIZON < val_start)
        candidates, val = candidates[keep], val[keep]
    rng = np.random.default_rng([ctx.config.seed, int(block.now)])
    n_val = round(settings.max_train_windows * ctx.config.validation_fraction) if val.any() else 0
    train_part = _subsample(rng, candidates[~val], settings.max_train_windows - n_val)
    val_part = _subsample(rng, candidates[val], n_val)
    if not len(train_part):
        raise ValueError(f"no LSTM training window before {block.name}")

    def arrays(positions: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        ret, _ = forward_returns(ctx.panel, bars.row[positions], bars.col[positions])
        return lstm_windows(bars, positions), (ret > 0).astype(np.int64)

    log.info(
        "LSTM %s: %d of %d training windows, %d of %d validation windows",
        block.name,
        len(train_part),
        (~val).sum(),
        len(val_part),
        val.sum(),
    )
    start = time.perf_counter()
    model, result = train(
        settings,
        arrays(train_part),
        arrays(val_part) if len(val_part) else None,
        seed=ctx.config.seed,
        device=ctx.device,
        desc=f"{settings.name} {block.name}",
    )
    dates = ctx.panel.dates
    record = {
        "candidates": int((~val).sum()),
        "train": len(train_part),
        "validation_candidates": int(val.sum()),
        "validation": len(val_part),
        "train_days": _span(dates[bars.row[train_part]]),
        "validation_days": _span(dates[bars.row[val_part]]) if len(val_part) else None,
        **_result_record(result, time.perf_counter() - start),
    }
    save_checkpoint(path, model, {"record": record, "model": settings.to_config()})
    return model, record


def _subsample(rng: np.random.Generator, positions: np.ndarray, cap: int) -> np.ndarray:
    """At most ``cap`` positions, drawn uniformly without replacement, in sorted order."""
    if len(positions) <= cap:
        return positions
    return np.sort(rng.choice(positions, size=cap, replace=False))


def _timing(
    ctx: _Context, selection: pd.DataFrame, window_ok: np.ndarray, model: torch.nn.Module
) -> pd.DataFrame:
    """The LSTM's call for every selected code on every holding day of its month on which
    it has a tradable bar and a valid window (no row: no decision that day)."""
    chosen = selection[selection["selected"]]
    decision_rows = ctx.panel.dates.get_indexer(chosen["decision_date"])
    cols = ctx.panel.codes.get_indexer(chosen["code"])
    months = _holding_month(ctx, decision_rows)
    pieces_rows, pieces_cols, pieces_decision = [], [], []
    for month in np.unique(months):  # one loop step per month, vectorised over its codes
        rows = ctx.months.holding_rows(month)
        mine = cols[months == month]
        pieces_rows.append(np.repeat(rows, len(mine)))
        pieces_cols.append(np.tile(mine, len(rows)))
        pieces_decision.append(np.full(len(rows) * len(mine), ctx.months.decision_row[month]))
    rows, cols, decision = (np.concatenate(p) for p in (pieces_rows, pieces_cols, pieces_decision))
    position = ctx.bars.position(rows, cols)
    keep = position >= 0
    keep[keep] = window_ok[position[keep]]
    rows, cols, decision, position = rows[keep], cols[keep], decision[keep], position[keep]
    probability = _class_one_probability(model, lstm_windows(ctx.bars, position))
    frame = pd.DataFrame(
        {
            "date": ctx.panel.dates[rows],
            "code": ctx.panel.codes[cols].astype(str),
            "decision_date": ctx.panel.dates[decision],
            "signal": np.where(probability > 0.5, 1, -1).astype(np.int64),
            "probability": probability,
        }
    )
    return frame.sort_values(["date", "code"], kind="stable").reset_index(drop=True)


def _pooled_test_sample(ctx: _Context, blocks: list[Block], window_ok: np.ndarray) -> np.ndarray:
    """A seeded uniform sample of all codes' test windows (any code, any holding day of a
    test month) with a known 5-day return, to measure the timer beyond the selection."""
    test_months = np.concatenate([b.test_months for b in blocks])
    bars = ctx.bars
    month = _holding_month(ctx, bars.row)
    positions = np.flatnonzero(window_ok & np.isin(month, test_months))
    ret, _ = forward_returns(ctx.panel, bars.row[positions], bars.col[positions])
    positions = positions[np.isfinite(ret)]
    rng = np.random.default_rng([ctx.config.seed, len(ctx.panel.dates)])
    return _subsample(rng, positions, ctx.config.lstm.max_eval_windows)


def _accuracy(probability: np.ndarray, ret: np.ndarray) -> dict[str, Any]:
    signal = np.where(probability > 0.5, 1.0, -1.0)
    return direction_accuracy(signal, ret).as_dict() | {
        "always_up": always_up_accuracy(ret).as_dict(),
        "predicted_up_share": float((signal > 0).mean()) if len(signal) else float("nan"),
    }


def _timing_accuracy(ctx: _Context, timing: pd.DataFrame) -> dict[str, Any]:
    rows = ctx.panel.dates.get_indexer(timing["date"])
    cols = ctx.panel.codes.get_indexer(timing["code"])
    ret, _ = forward_returns(ctx.panel, rows, cols)
    return _accuracy(timing["probability"].to_numpy(), ret)


def _pooled_accuracy(ctx: _Context, pooled: list[tuple[np.ndarray, np.ndarray]]) -> dict[str, Any]:
    probability = np.concatenate([p for p, _ in pooled])
    positions = np.concatenate([q for _, q in pooled])
    ret, _ = forward_returns(ctx.panel, ctx.bars.row[positions], ctx.bars.col[positions])
    return _accuracy(probability, ret)


def _result_record(result: TrainResult, seconds: float) -> dict[str, Any]:
    return {
        "epochs_run": result.epochs_run,
        "best_epoch": result.best_epoch,
        "best_val_loss": result.best_val_loss,
        "seconds": round(seconds, 2),
        "history": [
            {k: round(v, 6) for k, v in epoch.items() if k.endswith("loss")}
            for epoch in result.history
        ],
    }


def _span(values: pd.Index) -> str:
    return f"{_label(values.min())}..{_label(values.max())}"


def _label(value: Any) -> str:
    return value.date().isoformat() if isinstance(value, pd.Timestamp) else str(value)


# -- cache ---------------------------------------------------------------------------------
def panel_fingerprint(panel: MarketPanel) -> str:
    """Hash of everything the signals read: the calendar, the codes and the raw arrays."""
    digest = hashlib.blake2b(digest_size=16)
    digest.update(panel.dates.asi8.tobytes())
    digest.update("\0".join(panel.codes).encode())
    for name in ("open", "high", "low", "close", "volume", "amount", "adj_factor"):
        values = np.ascontiguousarray(getattr(panel, name))
        digest.update(str(values.dtype).encode())
        digest.update(values.data)
    return digest.hexdigest()


def cache_key(panel: MarketPanel, config: SignalConfig) -> str:
    payload = {
        "version": CACHE_VERSION,
        "data": panel_fingerprint(panel),
        "config": config.to_dict(),
    }
    text = json.dumps(payload, sort_keys=True, default=str)
    return hashlib.blake2b(text.encode(), digest_size=10).hexdigest()


def save_tables(tables: SignalTables) -> None:
    """Each table atomically, then report.json last: its presence marks a complete set."""
    for name in TABLES:
        frame = getattr(tables, name)
        write_atomic(tables.folder / f"{name}.parquet", lambda p, f=frame: f.to_parquet(p))
    text = json.dumps(tables.report, indent=2, default=_json_default, allow_nan=True)
    write_text_atomic(tables.folder / "report.json", text)


def load_tables(folder: str | Path) -> SignalTables | None:
    """Tables saved by :func:`save_tables`, or None when the folder holds no complete set."""
    folder = Path(folder)
    report_path = folder / "report.json"
    if not report_path.exists():
        return None
    frames = {name: pd.read_parquet(folder / f"{name}.parquet") for name in TABLES}
    report = json.loads(report_path.read_text(encoding="utf-8"))
    return SignalTables(**frames, report=report, folder=folder)


def _without(record: dict[str, Any], key: str) -> dict[str, Any]:
    return {k: v for k, v in record.items() if k != key}


def _json_default(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"cannot write {type(value).__name__} to JSON")


# -- command line ----------------------------------------------------------------------------
def main(argv: Sequence[str] | None = None) -> int:
    """``python -m quant.signals``: build (or reuse) the tables and print the report."""
    from quant.data import load_panel

    parser = argparse.ArgumentParser(prog="python -m quant.signals", description=main.__doc__)
    parser.add_argument("--data", default="sample", help="stock bars: 'sample' or a path")
    parser.add_argument("--preset", default="paper", choices=sorted(PRESETS))
    parser.add_argument("--cache", default=".cache/signals", help="cache folder")
    parser.add_argument("--retrain-every", type=int, default=None, metavar="K")
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--device", default=None, help="torch device (default: GPU if seen)")
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")

    config = preset(args.preset)
    changes = {"retrain_every": args.retrain_every, "seed": args.seed}
    config = dataclasses.replace(config, **{k: v for k, v in changes.items() if v is not None})
    start = time.perf_counter()
    panel = load_panel(args.data)
    loaded = time.perf_counter()
    tables = build_signals(panel, config, args.cache, device=args.device, threads=args.threads)
    done = time.perf_counter()
    summary = {
        "folder": str(tables.folder),
        "load_seconds": round(loaded - start, 1),
        "build_seconds": round(done - loaded, 1),
        "selection_rows": len(tables.selection),
        "selected_rows": int(tables.selection["selected"].sum()),
        "timing_rows": len(tables.timing),
        "quality": tables.quality,
        "training": [  # loss histories: see report.json
            {k: _without(v, "history") if isinstance(v, dict) else v for k, v in record.items()}
            for record in tables.report["training"]
        ],
    }
    print(json.dumps(summary, indent=2, default=_json_default))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
