"""The window a backtest actually runs, and the inputs that must cover it (quant.engine.window),
on a few hand-made stocks and days where the right window is known.

Faults of issue 11 covered here: a backtest window outside the data was clipped silently while
the report stated the window asked for; index bars missing on days of the window silently
became "no bar" (a benchmark standing still)."""

from __future__ import annotations

import json
import warnings

import pandas as pd
import pytest

from quant.cli import main
from quant.data import DataWarning
from quant.engine import AShareStrategy, BacktestConfig, Context, Plan, run_backtest, run_strategy
from quant.engine.config import ConfigError
from quant.engine.runner import prepare_context
from quant.engine.window import Coverage, run_window
from quant.market.calendar import TradingCalendar, sessions_from
from quant.report import write_run
from tests.conftest import make_bars, sessions
from tests.engine_helpers import panel_of

D = sessions("2024-03-04", periods=8)  # Mon 4 .. Wed 13 March 2024, no holiday
STOCKS = panel_of(*(make_bars(c, D, [10.0] * len(D)) for c in ("600000.SH", "600004.SH")))


def index_panel(days=D, close=3000.0):
    return panel_of(make_bars("000001.SH", days, [close] * len(days)))


def day(k: int) -> str:
    return str(D[k].date())


def benchmark(start: str, end: str, clip: bool = False, **options) -> BacktestConfig:
    return BacktestConfig(start=start, end=end, strategies=["benchmark"], clip=clip, **options)


# -- the window run: day 0, the first and last sessions ----------------------------------------
def test_a_window_is_the_sessions_from_the_day_before_its_start():
    calendar, _ = TradingCalendar.of(sessions_from("2014-01-02", 30))
    stocks = Coverage("stock data", pd.Series(True, calendar.sessions).to_numpy())
    window = run_window(calendar, pd.Timestamp("2014-01-06"), pd.Timestamp("2014-01-31"), [stocks])
    assert window.day_0 == pd.Timestamp("2014-01-03")
    assert window.as_dict() == {
        "start": "2014-01-06",
        "end": "2014-01-30",  # 31 Jan was a holiday
        "day_0": "2014-01-03",
        "sessions": 19,
        "asked": {"start": "2014-01-06", "end": "2014-01-31"},
        "clipped": False,
    }


def test_a_window_ending_between_the_last_session_and_the_next_is_inside_the_data():
    """The data ends on Friday 8 March; a window to Sunday 10 March misses no session."""
    stocks = STOCKS.calendar.sessions[:5]
    panel = panel_of(*(make_bars(c, stocks, [10.0] * 5) for c in ("600000.SH", "600004.SH")))
    context = prepare_context(benchmark(day(1), "2024-03-10"), panel, index_panel(), ["000001.SH"])
    assert context.window.as_dict()["end"] == "2024-03-08" and not context.window.clipped


# -- a window beyond the stock data: an error, or clipped with --clip ---------------------------
@pytest.mark.parametrize(
    "start, end, why",
    [
        (day(0), day(7), "the first session of the data has no session before it for day 0"),
        ("2024-02-20", day(7), "before the data"),
        (day(1), "2024-03-15", "past the data: 14 and 15 March are sessions"),
    ],
)
def test_a_window_beyond_the_data_is_an_error_naming_both_windows(start, end, why):
    with pytest.raises(ConfigError) as error:
        prepare_context(benchmark(start, end), STOCKS, index_panel())
    assert str(error.value) == (
        f"the window asked for, {start} .. {end}, reaches beyond the data: stock data sample "
        "holds bars 2024-03-04 .. 2024-03-13; windows from 2024-03-05 (day 0, the session "
        "before the start, needs bars) to 2024-03-13 can run: change start/end, or clip = true "
        "(--clip) to run 2024-03-05 .. 2024-03-13"
    ), why


def test_clip_runs_the_window_the_data_holds_and_says_so():
    with pytest.warns(
        DataWarning, match=r"clipped: the window asked for, 2024-02-20 \.\. 2024-03-15"
    ):
        context = prepare_context(
            benchmark("2024-02-20", "2024-03-15", clip=True), STOCKS, index_panel()
        )
    window = context.window
    assert (window.day_0, window.first, window.last) == (D[0], D[1], D[7])
    assert context.rows == slice(0, 8)
    assert window.clipped == (
        "clipped: the window asked for, 2024-02-20 .. 2024-03-15, reaches beyond the data (stock "
        "data sample holds bars 2024-03-04 .. 2024-03-13); the run covers 2024-03-05 .. "
        "2024-03-13 only (net value 1 at the close of 2024-03-04)"
    )


def test_a_window_without_any_session_in_the_data_is_an_error_even_clipped():
    for clip in (False, True):
        with pytest.raises(ConfigError, match=r"2024-04-01 \.\. 2024-04-30, has no session in"):
            prepare_context(benchmark("2024-04-01", "2024-04-30", clip), STOCKS, index_panel())
    with pytest.raises(ConfigError, match=r"2024-03-09 \.\. 2024-03-10, has no trading day"):
        prepare_context(benchmark("2024-03-09", "2024-03-10"), STOCKS, index_panel())  # a weekend


def test_clip_must_be_a_flag():
    with pytest.raises(ConfigError, match=r"clip = .yes.: input should be a valid boolean"):
        BacktestConfig(clip="yes")


# -- the indices the strategies hold must cover the window -------------------------------------
def test_an_index_starting_late_is_named_and_clip_cuts_the_window_to_it():
    late = index_panel(D[3:])
    with pytest.raises(ConfigError) as error:
        run_backtest(benchmark(day(1), day(7)), STOCKS, late)
    assert str(error.value) == (
        "the window asked for, 2024-03-05 .. 2024-03-13, reaches beyond the data: index "
        "000001.SH in sample holds bars 2024-03-07 .. 2024-03-13; windows from 2024-03-08 (day "
        "0, the session before the start, needs bars) to 2024-03-13 can run: change start/end, "
        "or clip = true (--clip) to run 2024-03-08 .. 2024-03-13"
    )
    with pytest.warns(DataWarning, match="index 000001.SH in sample holds bars 2024-03-07"):
        result = run_backtest(benchmark(day(1), day(7), clip=True), STOCKS, late)
    assert list(result.strategies[0].nav.index) == list(D[3:])  # from day 0 = 7 March
    assert result.window.first == D[4] and result.notes[0].startswith("clipped:")


def test_a_missing_index_day_inside_the_window_is_an_error_clip_or_not():
    """The index lacks Thursday 7 March: the benchmark would stand still that day."""
    holed = index_panel(D.delete(3))
    for clip in (False, True):
        with pytest.raises(ConfigError) as error:
            run_backtest(benchmark(day(1), day(7), clip), STOCKS, holed)
        assert str(error.value) == (
            "index 000001.SH in sample has no bar on 1 of the 8 sessions of the window run, "
            "2024-03-04 (day 0) .. 2024-03-13 (2024-03-07): every input must hold each "
            "session; fill them, or run a window without them"
        )


def test_an_index_the_config_does_not_hold_need_not_cover_the_window():
    both = panel_of(
        make_bars("000001.SH", D, [3000.0] * len(D)), make_bars("399006.SZ", D[4:], [2000.0] * 4)
    )
    result = run_backtest(benchmark(day(1), day(7)), STOCKS, both)
    assert result.window.first == D[1]


def test_an_index_a_strategy_does_not_declare_is_checked_when_its_plan_names_it():
    class HoldsAnIndex(AShareStrategy):
        frictionless = True

        @classmethod
        def prepare(cls, context: Context, params: AShareStrategy.Params) -> Plan:
            return Plan(index_codes=["000001.SH"])

    context = prepare_context(benchmark(day(1), day(7)), STOCKS, index_panel(D.delete(5)))
    with pytest.raises(
        ConfigError, match=r"index 000001.SH in sample has no bar on 1 .*2024-03-11"
    ):
        run_strategy(HoldsAnIndex, context)


def test_a_plan_naming_codes_the_data_lacks_is_an_error_naming_them():
    class Unknown(AShareStrategy):
        @classmethod
        def prepare(cls, context: Context, params: AShareStrategy.Params) -> Plan:
            return Plan(codes=["600000.SH", "600519.SH"])

    context = prepare_context(benchmark(day(1), day(7)), STOCKS, index_panel())
    with pytest.raises(
        ConfigError, match=r"strategy Unknown: its plan names 1 codes that the stock data sample "
        r"lacks \(600519\.SH\)"
    ):  # fmt: skip
        run_strategy(Unknown, context)


# -- the report and metrics.json state the window run -------------------------------------------
@pytest.fixture
def files(tmp_path):
    bars, index = tmp_path / "bars.csv", tmp_path / "index.csv"
    pd.concat([make_bars(c, D, [10.0] * len(D)) for c in ("600000.SH", "600004.SH")]).to_csv(
        bars, index=False
    )
    make_bars("000001.SH", D, [3000.0 + k for k in range(len(D))]).to_csv(index, index=False)
    return ["backtest", "--data", str(bars), "--index-data", str(index), "--strategies",
            "benchmark", "--start", "2024-03-01", "--end", "2024-03-20"]  # fmt: skip


def test_the_backtest_command_refuses_a_window_beyond_the_data_in_one_line(files, tmp_path, capsys):
    assert main([*files, "--out", str(tmp_path / "run")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(
        "error: the window asked for, 2024-03-01 .. 2024-03-20, reaches beyond the data: stock "
        f"data {files[2]} holds bars 2024-03-04 .. 2024-03-13"
    )
    assert not (tmp_path / "run").exists()


def test_a_clipped_run_reports_the_window_it_ran(files, tmp_path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataWarning)
        assert main([*files, "--clip", "--out", str(tmp_path / "run")]) == 0
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert metrics["window"] == {
        "start": "2024-03-05",
        "end": "2024-03-13",
        "day_0": "2024-03-04",
        "sessions": 7,
        "asked": {"start": "2024-03-01", "end": "2024-03-20"},
        "clipped": True,
    }
    assert metrics["notes"][0].startswith("clipped: the window asked for, 2024-03-01 .. 2024-03-20")
    report = (tmp_path / "run" / "report.md").read_text()
    assert (
        "Window run: 2024-03-05 .. 2024-03-13, 7 sessions (net value 1 at the close of "
        "2024-03-04, the session before); asked for: 2024-03-01 .. 2024-03-20 (**clipped** to "
        "the data with clip = true: see the notes)"
    ) in report
    assert "- clipped: the window asked for" in report
    assert "clip = true" in (tmp_path / "run" / "config.toml").read_text()
    # the benchmark's figures are the index's over the window run: 3000 -> 3007
    total = metrics["strategies"]["benchmark"]["total_return"]
    assert total == pytest.approx(3007 / 3000 - 1)


def test_a_run_inside_the_data_states_the_window_asked_for_only_when_it_differs(tmp_path):
    config = benchmark(day(1), day(7))
    report_dir = write_run(run_backtest(config, STOCKS, index_panel()), tmp_path / "run")
    report = (report_dir / "report.md").read_text()
    assert "Window run: 2024-03-05 .. 2024-03-13, 7 sessions" in report
    assert "asked for" not in report and "clipped" not in report
