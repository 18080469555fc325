"""Walk-forward signal tables on a small synthetic market: their shape and invariants, the
cache, one seed one result, no look-ahead from the data to the signals, and the
``quant signals`` command."""

from __future__ import annotations

import json
import os

import numpy as np
import pandas as pd
import pytest
import torch

from quant import signals
from quant.cli import main
from quant.data import MarketPanel
from quant.metrics.selection import (
    monthly_selection_quality,
    rank_ic,
    summarise_selection,
    t_statistic,
    top_mean,
)
from quant.models.cnn import CNNRanker
from quant.models.lstm_timer import LSTMTimer
from quant.signals import (
    PRESETS,
    SignalConfig,
    build_signals,
    cache_key,
    chronological_split,
    preset,
    walk_forward,
)
from tests.test_features import panel_of, perturb_after, synthetic_market

TINY = SignalConfig(
    train_start="2012-01",
    train_end="2014-03",
    test_start="2014-04",
    test_end="2015-03",
    top_fraction=0.1,
    seed=1,
    cnn=CNNRanker(max_epochs=3, patience=2, batch_size=128),
    lstm=LSTMTimer(
        max_epochs=2, patience=1, batch_size=256, max_train_windows=1500, max_eval_windows=500
    ),
)
FRAME = synthetic_market(n_codes=30, n_days=860, start="2012-01-02", seed=5)
PANEL = panel_of(FRAME)


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> signals.SignalTables:
    return build(PANEL, TINY, tmp_path_factory.mktemp("signals"))


def build(panel: MarketPanel, config: SignalConfig, folder) -> signals.SignalTables:
    return build_signals(panel, config, folder, threads=1)


def test_selection_table(built):
    selection = built.selection
    assert list(selection.columns) == ["decision_date", "code", "score", "rank", "selected"]
    assert str(selection["decision_date"].dtype).startswith("datetime64")
    assert selection["rank"].dtype == np.int64 and selection["selected"].dtype == bool
    assert selection["score"].between(0, 1).all()
    months = PANEL.calendar.months
    expected_dates = PANEL.dates[months.decision_row[months.index("2014-04") :][:12]]
    assert list(selection["decision_date"].unique()) == list(expected_dates)
    for _, month in selection.groupby("decision_date"):
        n = len(month)
        assert sorted(month["rank"]) == list(range(1, n + 1))
        assert month["selected"].sum() == max(1, round(0.1 * n))
        assert (month["selected"] == (month["rank"] <= month["selected"].sum())).all()
        # rank 1 has the highest score
        assert month.sort_values("rank")["score"].is_monotonic_decreasing


def test_timing_table(built):
    timing, selection = built.timing, built.selection
    assert list(timing.columns) == ["date", "code", "decision_date", "signal", "probability"]
    assert set(timing["signal"]) <= {-1, 1} and timing["signal"].dtype == np.int64
    assert (timing["signal"] == np.where(timing["probability"] > 0.5, 1, -1)).all()
    assert not timing.duplicated(["date", "code"]).any()
    chosen = set(
        zip(
            selection.loc[selection["selected"], "decision_date"],
            selection.loc[selection["selected"], "code"],
        )
    )
    assert set(zip(timing["decision_date"], timing["code"])) == chosen
    # each month's calls run from its decision date to the day before the next one
    decisions = sorted(selection["decision_date"].unique())
    next_decision = dict(zip(decisions, [*decisions[1:], pd.Timestamp.max]))
    assert (timing["date"] >= timing["decision_date"]).all()
    assert (timing["date"] < timing["decision_date"].map(next_decision)).all()
    first_calls = timing.groupby(["decision_date", "code"])["date"].min()
    assert (first_calls.index.get_level_values(0) == first_calls.to_numpy()).all()
    # only days with a tradable bar
    rows = PANEL.dates.get_indexer(timing["date"])
    cols = PANEL.codes.get_indexer(timing["code"])
    assert PANEL.tradable[rows, cols].all()
    last_month = timing[timing["decision_date"] == decisions[-1]]
    months = PANEL.calendar.months
    k = months.index("2015-03")
    assert last_month["date"].max() == PANEL.dates[months.last_row[k] - 1]


def test_quality_report(built):
    cnn = built.quality["cnn"]
    assert cnn["months"] == 12 and cnn["samples"] == len(built.selection)
    monthly = built.cnn_monthly
    assert list(monthly.columns) == [
        "decision_date",
        "n",
        "top_return",
        "decile_return",
        "all_return",
        "rank_ic",
    ]
    assert np.isclose(cnn["ic_mean"], monthly["rank_ic"].mean())
    timing = built.quality["lstm"]["timing"]
    assert 0 < timing["n"] <= len(built.timing)
    assert timing["ci_low"] <= timing["accuracy"] <= timing["ci_high"]
    for sample in ("timing", "pooled"):
        q = built.quality["lstm"][sample]
        up, down = q["always_up"], q["always_down"]
        assert up["n"] == down["n"] == q["n"]  # the same days
        assert up["accuracy"] + down["accuracy"] == pytest.approx(1.0)  # no flat day counts
    pooled = built.quality["lstm"]["pooled"]
    assert 0 < pooled["n"] <= 500
    record = built.report["training"][0]
    assert (
        record["cnn"]["train"] > 0
        and record["lstm"]["train"] + record["lstm"]["validation"] <= 1500
    )


def test_second_call_trains_nothing(built, monkeypatch, dead_pid):
    def refuse(*args, **kwargs):
        raise AssertionError("trained again")

    monkeypatch.setattr(signals.training, "train", refuse)
    dead, alive = dead_pid, os.getpid()
    # what a build killed between writing and renaming a checkpoint leaves, and a live one's
    stale = built.folder / f".cnn_x.pt.{dead}.abc123.tmp"
    busy = built.folder / f".lstm_x.pt.{alive}.def456.tmp"
    for path in (stale, busy):
        path.write_bytes(b"half")
    again = build(PANEL, TINY, built.folder.parent)
    assert not stale.exists() and busy.exists()  # only the dead writer's is removed
    busy.unlink()
    for name in signals.TABLES:
        pd.testing.assert_frame_equal(getattr(again, name), getattr(built, name))
    # without the tables, the checkpoints alone rebuild them, still without training
    for name in signals.TABLES:
        (built.folder / f"{name}.parquet").unlink()
    (built.folder / "report.json").unlink()
    rebuilt = build(PANEL, TINY, built.folder.parent)
    for name in signals.TABLES:
        pd.testing.assert_frame_equal(getattr(rebuilt, name), getattr(built, name))
    assert rebuilt.report["training"] == built.report["training"]


def test_same_config_same_tables_and_the_seed_matters(built, tmp_path):
    threads = torch.get_num_threads()
    again = build(PANEL, TINY, tmp_path / "a")
    assert torch.get_num_threads() == threads  # restored after training on one thread
    for name in signals.TABLES:
        pd.testing.assert_frame_equal(getattr(again, name), getattr(built, name))
    other = build(PANEL, TINY.replace({"seed": 2}), tmp_path / "b")
    assert not np.array_equal(other.selection["score"], built.selection["score"])


def test_cache_key_follows_data_and_config():
    key = cache_key(PANEL, TINY)
    assert cache_key(panel_of(FRAME), TINY) == key
    assert cache_key(PANEL, TINY.replace({"top_fraction": 0.2})) != key
    changed = FRAME.copy()
    changed.loc[100, "close"] *= 1.001
    assert cache_key(panel_of(changed), TINY) != key


def test_changing_the_future_never_changes_a_past_signal(tmp_path):
    config = TINY.replace({"retrain_every": 4})
    months = PANEL.calendar.months
    # the "now" of the second model: its first signals are decided on this very day
    cutoff = PANEL.dates[months.decision_row[months.index("2014-08")]]
    before = build(PANEL, config, tmp_path / "before")
    after = build(panel_of(perturb_after(FRAME, cutoff, seed=11)), config, tmp_path / "after")
    assert len(before.report["training"]) == 3  # 12 test months, retrained every 4

    def past(frame: pd.DataFrame, column: str) -> pd.DataFrame:
        return frame[frame[column] <= cutoff].reset_index(drop=True)

    pd.testing.assert_frame_equal(
        past(after.selection, "decision_date"), past(before.selection, "decision_date")
    )
    pd.testing.assert_frame_equal(past(after.timing, "date"), past(before.timing, "date"))
    assert len(past(before.timing, "date")) > 0
    # the models trained before the cutoff are the same models; the last one is not
    assert before.report["training"][:2] == [
        {
            **r,
            "cnn": {**r["cnn"], "seconds": b["cnn"]["seconds"]},
            "lstm": {**r["lstm"], "seconds": b["lstm"]["seconds"]},
        }
        for r, b in zip(after.report["training"][:2], before.report["training"][:2])
    ]
    assert before.report["training"][2]["cnn"] != after.report["training"][2]["cnn"]
    assert not before.timing.equals(after.timing)


def test_walk_forward_trains_only_on_the_past():
    months = PANEL.calendar.months
    blocks = walk_forward(months, TINY.replace({"retrain_every": 5}))
    assert [b.name for b in blocks] == ["2014-04", "2014-09", "2015-02"]
    assert [len(b.test_months) for b in blocks] == [5, 5, 2]
    assert str(months.periods[blocks[0].train_months[-1]]) == "2014-03"
    for block in blocks:
        assert months.periods[block.train_months[-1]] < months.periods[block.test_months[0]]
        assert months.last_row[block.train_months].max() <= block.now
        assert block.now == months.decision_row[block.test_months[0]]
    assert blocks[1].train_months[-1] == blocks[1].test_months[0] - 1  # expanding window


def test_training_records_respect_the_block_start(built):
    record = built.report["training"][0]
    decision = PANEL.calendar.months.decision_row[PANEL.calendar.months.index("2014-04")]
    assert record["cnn"]["validation_months"].endswith("2014-03")
    assert (
        record["cnn"]["train_months"].split("..")[1]
        < record["cnn"]["validation_months"].split("..")[0]
    )
    last_train, last_val = (
        PANEL.dates.get_loc(pd.Timestamp(record["lstm"][name].split("..")[1]))
        for name in ("train_days", "validation_days")
    )
    first_val = PANEL.dates.get_loc(pd.Timestamp(record["lstm"]["validation_days"].split("..")[0]))
    assert last_val + 5 <= decision  # every validation label ends by the decision date
    assert last_train + 5 < first_val  # purged: no training label reaches validation days


def test_chronological_split_holds_out_the_last_periods():
    order = np.array([1, 1, 2, 3, 3, 4, 5])
    assert list(chronological_split(order, 0.4)) == [False] * 5 + [True] * 2
    assert list(chronological_split(order, 0.2)) == [False] * 6 + [True]
    assert not chronological_split(order, 0.0).any()
    assert not chronological_split(np.array([3, 3]), 0.5).any()  # one period: nothing held out


def test_config_from_dict_and_errors():
    config = SignalConfig.from_dict({"seed": 3, "cnn": {"channels": [8, 8]}, "lstm": {"hidden": 8}})
    assert config.cnn.channels == (8, 8) and config.lstm.hidden == 8 and config.seed == 3
    assert SignalConfig.from_dict(config.to_dict()) == config
    with pytest.raises(ValueError, match="unknown cnn setting"):
        SignalConfig.from_dict({"cnn": {"chanels": [8, 8]}})
    with pytest.raises(ValueError, match="train_end < test_start"):
        SignalConfig(train_end="2014-01", test_start="2014-01")
    with pytest.raises(ValueError, match="unknown signal preset"):
        preset("papr")
    assert preset("paper") == SignalConfig()
    assert preset("sample").lstm.max_train_windows < SignalConfig().lstm.max_train_windows


def test_a_test_span_outside_the_data_is_a_clear_error(tmp_path):
    config = TINY.replace({"test_start": "2019-01", "test_end": "2019-06"})
    with pytest.raises(ValueError, match=r"no test month in 2019-01\.\.2019-06"):
        build(PANEL, config, tmp_path)


def test_quant_signals_builds_and_reuses_the_tables(tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(PRESETS, "tiny", TINY)
    monkeypatch.setattr("quant.data.load_panel", lambda data: PANEL)
    argv = ["signals", "--preset", "tiny", "--cache", str(tmp_path), "--threads", "1"]
    assert main(argv) == 0
    first = json.loads(capsys.readouterr().out)
    built = build_signals(PANEL, TINY, tmp_path)  # what the command built, from the cache
    assert first["folder"] == str(built.folder)
    assert (first["selected_rows"], first["timing_rows"]) == (
        int(built.selection["selected"].sum()),
        len(built.timing),
    )
    assert set(first["quality"]["lstm"]["timing"]) >= {"always_up", "always_down"}
    assert "history" not in first["training"][0]["cnn"]  # loss histories: report.json
    assert main(argv) == 0
    second = json.loads(capsys.readouterr().out)
    assert second["folder"] == first["folder"] and second["quality"] == first["quality"]
    assert main([*argv[:2], "papr"]) == 2
    assert "unknown signal preset 'papr'" in capsys.readouterr().err


# -- selection metrics ---------------------------------------------------------------------------
def test_rank_ic_by_hand():
    assert rank_ic(np.array([1, 2, 3, 4]), np.array([10, 20, 30, 40])) == pytest.approx(1)
    assert rank_ic(np.array([1, 2, 3, 4]), np.array([4, 3, 2, 1])) == pytest.approx(-1)
    # one swapped pair: 1 - 6 * sum(d^2) / (n (n^2 - 1)) = 1 - 6 * 2 / 60
    assert rank_ic(np.array([1, 2, 3, 4]), np.array([1, 3, 2, 4])) == pytest.approx(0.8)
    assert np.isnan(rank_ic(np.array([1, 2, 3]), np.array([5, 5, 5])))
    assert np.isnan(rank_ic(np.array([1.0]), np.array([2.0])))


def test_top_mean_uses_the_platform_selection_rule():
    scores, returns = np.array([0.9, 0.1, 0.5, 0.7]), np.array([1.0, 2.0, 3.0, 4.0])
    assert top_mean(scores, returns, 0.5) == 2.5  # the two best scores: returns 1 and 4
    assert top_mean(scores, returns, 0.01) == 1.0  # at least one name


def test_monthly_quality_and_summary_by_hand():
    frame = pd.DataFrame(
        {
            "decision_date": pd.to_datetime(["2020-01-31"] * 4 + ["2020-02-28"] * 3),
            "score": [0.9, 0.1, 0.5, 0.7, 0.3, 0.2, 0.1],
            "return": [0.04, 0.01, 0.02, 0.03, 0.01, np.nan, 0.03],
        }
    )
    monthly = monthly_selection_quality(frame, top_fraction=0.25)
    assert list(monthly["n"]) == [4, 2]  # the NaN return is left out
    assert list(monthly["top_return"]) == [0.04, 0.01]
    assert monthly["all_return"].tolist() == pytest.approx([0.025, 0.02])
    assert monthly["rank_ic"].tolist() == pytest.approx([1.0, -1.0])
    summary = summarise_selection(monthly)
    assert summary["months"] == 2 and summary["ic_mean"] == pytest.approx(0.0)
    assert t_statistic(np.array([1.0, 2.0, 3.0])) == pytest.approx(2 * np.sqrt(3))
    assert np.isnan(t_statistic(np.array([1.0])))
