"""Progress: every long step reports stage, seed and percent; reports made in worker
processes reach the parent's sink; the terminal shows bars, lines with -v off a terminal,
and nothing otherwise."""

from __future__ import annotations

import io
import itertools
import os
import re

import torch
from torch import nn

from quant import progress
from quant.cli import main
from quant.engine import AShareStrategy, BacktestConfig, Context, Plan, run_backtest
from quant.models.training import TrainConfig, fit
from quant.progress import Display, Event


class Reporting(AShareStrategy):
    """Reports a 4-part "prepare" stage and records the process it ran in."""

    uses_seed = True

    @classmethod
    def prepare(cls, context: Context, params: AShareStrategy.Params) -> Plan:
        with progress.step("prepare", 4, "part") as step:
            for _ in range(4):
                step.advance()
        return Plan(codes=list(context.panel.codes[:2]), info={"pid": os.getpid()})


def finals(events: list[Event]) -> dict[tuple[str, int | None, str], Event]:
    return {(e.task, e.seed, e.stage): e for e in events if e.final}


def test_progress_made_in_two_workers_reaches_the_parent():
    config = BacktestConfig(
        start="2015-01-01",
        end="2015-03-31",
        strategies=["benchmark", "tests.test_progress:Reporting"],
        seeds=[0, 1],
        workers=2,
    )
    events: list[Event] = []
    with progress.sink(events.append):
        result = run_backtest(config)
    pids = {r.info["pid"] for r in result.strategies if r.name == "Reporting"}
    assert os.getpid() not in pids  # the runs were made in worker processes
    days = len(result.strategies[0].nav)
    ended = finals(events)
    assert ended[("data", None, "load")].done == 2
    for seed in (0, 1):
        assert ended[("Reporting", seed, "prepare")].done == 4
        assert ended[("Reporting", seed, "backtest")].done == days
    assert ended[("benchmark", None, "backtest")].done == days
    runs = ended[("", None, "runs")]  # the parent's own count of finished runs
    assert (runs.done, runs.total) == (3, 3)
    for key in ended:  # each stage starts at 0 % and only goes up
        percents = [e.percent for e in events if (e.task, e.seed, e.stage) == key]
        assert percents[0] == 0 and percents == sorted(percents) and percents[-1] == 100


def test_quant_backtest_with_v_prints_the_workers_progress_as_lines(tmp_path, capsys):
    args = [
        "-v",
        "backtest",
        "--strategies",
        "benchmark",
        "--strategy",
        "tests.test_progress:Reporting",
    ]
    window = ["--start", "2015-01-01", "--end", "2015-02-28", "--seeds", "3,4", "--workers", "2"]
    assert main([*args, *window, "--out", str(tmp_path / "run")]) == 0
    lines = capsys.readouterr().err.splitlines()
    for expected in (
        "data: load: done (2/2 file, ",
        "Reporting seed 3: prepare: done (4/4 part, ",
        "Reporting seed 4: prepare:  50 % (2/4 part, ",
        "runs: done (3/3 run, ",
    ):  # each line ends with the time elapsed in its stage
        assert any(re.fullmatch(re.escape(expected) + r"\d+ s\)", line) for line in lines), expected
    assert any(line.startswith("Reporting seed 4: backtest: done (") for line in lines)


def test_lines_come_at_the_start_every_tenth_and_the_end():
    stream = io.StringIO()
    with (
        progress.sink(Display(bars=False, stream=stream)),
        progress.task("model", seed=2),
        progress.step("CNN 2014-01", 40, "epoch") as step,
    ):
        for _ in range(25):  # stopped early, at 25 of 40
            step.advance()
    assert stream.getvalue().splitlines() == [
        "model seed 2: CNN 2014-01:   0 % (0/40 epoch, 0 s)",
        *[
            f"model seed 2: CNN 2014-01: {p:3d} % ({p * 40 // 100}/40 epoch, 0 s)"
            for p in range(10, 70, 10)
        ],
        "model seed 2: CNN 2014-01: done (25/40 epoch, 0 s)",
    ]


def test_a_capped_step_shows_the_work_done_not_a_share_of_its_cap(monkeypatch):
    """Training under early stopping: 500 epochs at most, 3 run. Lines show each epoch run,
    its note (the best so far) and the time elapsed; the bar counts epochs without a total."""
    clock = itertools.chain([100.0, 100.0, 112.0, 130.0, 200.5, 200.5], itertools.repeat(300.0))
    monkeypatch.setattr(progress, "_clock", lambda: next(clock))
    stream = io.StringIO()
    with (
        progress.sink(Display(bars=False, stream=stream)),
        progress.step("CNN 2014-01", 500, "epoch", upto=True) as step,
    ):
        for best in (1, 1, 3):
            step.advance(note=f"val_loss 0.69, best epoch {best}")
    assert stream.getvalue().splitlines() == [
        "CNN 2014-01: running (0 epoch run, at most 500, 0 s)",
        "CNN 2014-01: running (1 epoch run, at most 500, 12 s)  val_loss 0.69, best epoch 1",
        "CNN 2014-01: running (2 epoch run, at most 500, 30 s)  val_loss 0.69, best epoch 1",
        "CNN 2014-01: running (3 epoch run, at most 500, 1 min 40 s)  val_loss 0.69, best epoch 3",
        "CNN 2014-01: done (3 epoch run, at most 500, 1 min 40 s)  val_loss 0.69, best epoch 3",
    ]

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    terminal = Terminal()
    with progress.display(stream=terminal), progress.step("CNN", 500, "epoch", upto=True) as bar:
        bar.advance(note="best epoch 1")
    shown = terminal.getvalue()
    assert "1epoch[" in shown.replace(" ", "") and "500" not in shown and "%" not in shown


def test_bars_on_a_terminal_and_nothing_off_it_without_v():
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    terminal = Terminal()
    with progress.display(stream=terminal), progress.step("backtest", 10, "day") as step:
        step.advance(10)
    assert "backtest" in terminal.getvalue() and "10/10" in terminal.getvalue()

    with progress.display(verbose=False, stream=io.StringIO()):
        assert not progress.active()
    with progress.display(verbose=True, stream=io.StringIO()):
        assert progress.active()


def test_training_reports_each_epoch_unless_told_not_to():
    torch.manual_seed(0)
    x, y = torch.randn(64, 3), torch.randn(64, 1)
    for report in (True, False):
        events: list[Event] = []
        config = TrainConfig(max_epochs=4, batch_size=16, desc="toy", progress=report)
        with progress.sink(events.append):
            fit(nn.Linear(3, 1), (x, y), nn.MSELoss(), config)
        if report:
            assert [e.done for e in events] == [0, 1, 2, 3, 4, 4] and events[-1].final
            assert events[1].note.startswith("train_loss ") and "best epoch 1 (" in events[1].note
            assert all(e.upto for e in events) and events[-1].elapsed >= events[1].elapsed
        else:
            assert events == []
