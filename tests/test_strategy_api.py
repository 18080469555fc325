"""Strategies speak the platform, not backtrader (issue 13): what a strategy sees, a code
outside its plan, the budgeted buy list, and whose traceback an error shows."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from typing import Literal

import pandas as pd
import pytest

from quant.cli import main
from quant.engine import (
    AShareStrategy,
    BacktestConfig,
    ConfigError,
    Context,
    Plan,
    StrategyError,
    run_strategy,
)
from quant.engine.plugins import load_strategy
from quant.engine.runner import prepare_context
from tests.conftest import make_bars, sessions
from tests.engine_helpers import panel_of

ROOT = Path(__file__).resolve().parents[1]
D = sessions("2024-03-04", periods=6)
A, B, C = "600000.SH", "600004.SH", "600006.SH"


def flat_market():
    return panel_of(*(make_bars(code, D, [10.0] * len(D)) for code in (A, B, C)))


def run(strategy: type[AShareStrategy], params: dict | None = None):
    panel = flat_market()
    config = BacktestConfig(
        start=str(D[1].date()),
        end=str(D[-1].date()),
        cash=100_000.0,
        strategies=[strategy.__name__],
        params={strategy.__name__: params or {}},
    )
    return run_strategy(strategy, prepare_context(config, panel, index_panel=panel))


class HalfOutside(AShareStrategy):
    """Names A in its plan, then asks for half A, half B."""

    @classmethod
    def prepare(cls, context: Context, params: AShareStrategy.Params) -> Plan:
        return Plan(codes=[A])

    def next(self) -> None:
        if self.today == D[1]:
            self.order_target_weights({A: 0.5, B: 0.5})


def test_an_order_for_a_code_outside_the_plan_names_strategy_method_code_and_line():
    """It used to lose half its target silently (or end in ``error: 600004.SH``)."""
    with pytest.raises(StrategyError) as error:
        run(HalfOutside)
    message = str(error.value)
    assert message.startswith(
        f"strategy HalfOutside: order_target_weights(weights): {B} is not one of the 1 codes "
        "its plan names"
    )
    assert message.endswith(f"({Path(__file__)}, line 60)") and "\n" not in message


class Budgeted(AShareStrategy):
    """On day 1 wants A, B and C for 60,000 yuan each out of its 100,000."""

    class Params(AShareStrategy.Params):
        buffer: Literal["cash", "order"] = "cash"
        """Where the cash buffer applies."""

    @classmethod
    def prepare(cls, context: Context, params: Params) -> Plan:
        return Plan(codes=[A, B, C])

    def next(self) -> None:
        if self.today == D[1]:
            assert self.cash == self.equity == 100_000.0 and self.tradable(C)
            self.buy_list(dict.fromkeys([A, B, C], 60_000.0), self.cash, self.plan.params.buffer)


def test_the_buy_list_shares_the_cash_and_logs_the_buy_it_cannot_fund():
    """Buffer on the cash: 99,800 to share: A 60,000 (6,000 shares), B the 39,800 left
    (3,900 shares in lots), C nothing: refused for cash (6,000 shares wanted)."""
    result = run(Budgeted, {"buffer": "cash"})
    assert result.fills[["code", "size"]].values.tolist() == [[A, 6000], [B, 3900]]
    refused = result.refusals[["date", "code", "side", "size", "reason"]].values.tolist()
    assert refused == [[D[1], C, "buy", 6000.0, "cash"]]


def test_the_buy_list_with_the_buffer_on_each_order():
    """Buffer on each order (the CNN-LSTM's sizing): A 60,000 x 0.998 = 59,880 (5,900
    shares), B 40,120 x 0.998 = 40,039.76 (4,000), C 80.24 x 0.998: under one lot."""
    result = run(Budgeted, {"buffer": "order"})
    assert result.fills[["code", "size"]].values.tolist() == [[A, 5900], [B, 4000]]
    assert result.refusals[["code", "reason"]].values.tolist() == [[C, "below minimum order"]]
    assert result.refusals["size"].iloc[0] == pytest.approx(80.24 * 0.998 / 10)


def test_prepare_must_return_a_plan():
    class NoPlan(AShareStrategy):
        @classmethod
        def prepare(cls, context: Context, params: AShareStrategy.Params) -> Plan:
            return {"codes": [A]}  # type: ignore[return-value]

    with pytest.raises(StrategyError, match="strategy NoPlan: prepare returned a dict, not a Plan"):
        run(NoPlan)


# -- whose traceback ------------------------------------------------------------------------
USER_STRATEGY = """\
from quant.engine import AShareStrategy, Context, Plan


class Oops(AShareStrategy):
    @classmethod
    def prepare(cls, context: Context, params: AShareStrategy.Params) -> Plan:
        return Plan(codes=["600000.SH"])

    def next(self):
        {}["oops"]
"""
WINDOW = ["--start", "2016-01-04", "--end", "2016-01-29"]


def test_a_users_exception_shows_its_own_traceback(tmp_path):
    """A KeyError inside a user's ``next`` printed only ``error: oops`` (the command caught
    every KeyError); now it propagates with the user's file and line."""
    path = tmp_path / "user.py"
    path.write_text(USER_STRATEGY)
    args = ["backtest", "--strategies", "benchmark", "--strategy", f"{path}:Oops", *WINDOW]
    with pytest.raises(KeyError, match="oops") as error:
        main([*args, "--workers", "1", "--out", str(tmp_path / "run")])
    last = error.traceback[-1]
    assert (Path(str(last.path)), last.lineno + 1) == (path, 10)


def in_workers(tmp_path: Path, source: str, name: str) -> tuple[Path, subprocess.CompletedProcess]:
    """``quant backtest`` of the benchmark and the strategy ``name`` of ``source`` (a file
    written in ``tmp_path``) in two worker processes: the file and the finished command."""
    path = tmp_path / "user.py"
    path.write_text(source)
    args = ["backtest", "--strategies", "benchmark", "--strategy", f"{path}:{name}", *WINDOW]
    done = subprocess.run(
        [sys.executable, "-m", "quant", *args, "--workers", "2", "--out", str(tmp_path / "run")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    return path, done


def test_a_users_exception_in_a_worker_shows_the_users_file_and_line(tmp_path):
    path, done = in_workers(tmp_path, USER_STRATEGY, "Oops")
    assert done.returncode == 1
    assert f'File "{path}", line 10, in next' in done.stderr
    assert "KeyError: 'oops'" in done.stderr and "error: oops" not in done.stderr
    # the worker's traceback, once: not followed by the parent's (issue 22)
    assert done.stderr.count("Traceback (most recent call last)") == 1
    assert done.stderr.count(f'File "{path}", line 10') == 1
    assert "_RemoteTraceback" not in done.stderr and "quant/workers.py" not in done.stderr


BAD_WEIGHT = """\
from quant.engine import AShareStrategy, Context, Plan


class Half(AShareStrategy):
    @classmethod
    def prepare(cls, context: Context, params: AShareStrategy.Params) -> Plan:
        return Plan(codes=["600000.SH", "600519.SH"])

    def next(self):
        self.order_target_weights({"600519.SH": "half"})
"""


def test_a_bad_argument_in_a_worker_is_one_line_with_the_users_file_and_line(tmp_path):
    """It was a 60-line double traceback ending in a TypeError inside the engine."""
    path, done = in_workers(tmp_path, BAD_WEIGHT, "Half")
    assert done.returncode == 2
    errors = [line for line in done.stderr.splitlines() if not line.startswith("warning: ")]
    assert errors == [
        "error: strategy Half: order_target_weights(weights): the weight of 600519.SH must be "
        f"a finite number >= 0, got 'half' ({path}, line 10)"
    ]


@pytest.mark.parametrize(
    ("source", "line", "last"),
    [
        ("x = 1\n\ndef broken(:\n", 3, "SyntaxError: invalid syntax"),
        ("import os\nimport no_such_package_here\n", 2, "No module named 'no_such_package_here'"),
    ],
)
def test_a_strategy_file_that_fails_to_load_shows_its_traceback_not_the_loaders(
    tmp_path, capsys, source, line, last
):
    path = tmp_path / "broken.py"
    path.write_text(source)
    with pytest.raises(ConfigError) as error:
        load_strategy(f"{path}:Broken")
    message = str(error.value)
    assert message.startswith(f"strategy '{path}:Broken': {path} failed to load:\n")
    assert f'File "{path}", line {line}' in message and message.endswith(last)
    assert "quant/plugins.py" not in message and "importlib" not in message
    assert main(["backtest", "--strategy", f"{path}:Broken"]) == 2
    assert f'File "{path}", line {line}' in capsys.readouterr().err


def test_a_module_that_fails_to_import_is_told_from_one_that_is_missing(tmp_path, monkeypatch):
    (tmp_path / "user_module_13.py").write_text("import no_such_package_here\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(ConfigError) as error:
        load_strategy("user_module_13:X")
    assert str(error.value) == (
        "strategy 'user_module_13:X': user_module_13 failed to load:\n"
        "Traceback (most recent call last):\n"
        f'  File "{tmp_path / "user_module_13.py"}", line 1, in <module>\n'
        "    import no_such_package_here\n"
        "ModuleNotFoundError: No module named 'no_such_package_here'"
    )
    with pytest.raises(ConfigError, match="cannot import no_such_module_13"):
        load_strategy("no_such_module_13:X")


# -- the engine and the plug-ins -------------------------------------------------------------
def test_the_engine_does_not_import_the_plugins():
    code = (
        "import sys, quant.engine, quant.engine.plugins, quant.engine.runner; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'strategies'))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert done.stdout.strip() == "[]"
    assert load_strategy("momentum").__module__ == "strategies.momentum"  # found by name


def test_strategies_use_no_backtrader_idiom():
    """``grep -rn "self.p\\.\\|getcash\\|import backtrader" strategies/`` finds nothing but
    the example of a backtrader strategy as written for backtrader (issue 22)."""
    idiom = re.compile(r"self\.p\.|getcash|import backtrader")
    as_written = ROOT / "strategies" / "examples" / "sma_cross_bt.py"
    found = [
        f"{path.relative_to(ROOT)}:{number}: {line.strip()}"
        for path in sorted((ROOT / "strategies").rglob("*.py"))
        if path != as_written
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if idiom.search(line)
    ]
    assert found == []


def test_the_hold_counter_is_the_one_declared_parameter():
    """hold_days = 2 on the hand tables of tests/test_cnn_lstm_strategy.py: A is sold after
    two -1s (06-02's close, filled 06-05) instead of five; B, reset by its +1 on 06-05,
    after the -1s of 06-06 and 06-07."""
    from tests.test_cnn_lstm_strategy import DAYS, flat, hand_run

    assert DAYS[0] == pd.Timestamp("2017-05-02")
    result = hand_run(panel_of(flat(A), flat(B, limit_down_on="2017-06-30"), flat(C)), hold_days=2)
    fills = result.fills[["date", "code", "side"]].itertuples(index=False)
    assert [(str(d.date()), c, s) for d, c, s in fills] == [
        ("2017-06-01", A, "buy"),
        ("2017-06-02", B, "buy"),
        ("2017-06-05", A, "sell"),
        ("2017-06-08", B, "sell"),
        ("2017-06-09", A, "buy"),  # +1 on 06-08
        ("2017-06-30", A, "sell"),  # month end
        ("2017-07-03", C, "buy"),
        ("2017-07-31", C, "sell"),
    ]
