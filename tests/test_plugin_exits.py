"""A plug-in that ends its process (``sys.exit`` while it loads or runs, ``os._exit`` in a
worker) ends ``quant`` with one line naming the plug-in and how it ended, never with the
plug-in's own exit status and no message, nor as "out of memory"."""

from __future__ import annotations

from pathlib import Path

import pytest

from quant.cli import main

EXITS = """
import os
import sys

from quant.engine import AShareStrategy, Plan

{top}

class Exiter(AShareStrategy):
    uses_seed = True

    class Params(AShareStrategy.Params):
        how: str = "sys"
        \"\"\"sys: sys.exit(3); os: os._exit(7).\"\"\"

    @classmethod
    def prepare(cls, context, params):
        if params.how == "sys":
            sys.exit(3)
        os._exit(7)
"""


def run(tmp_path: Path, capsys, how: str, seeds: str, top: str = "") -> str:
    plugin = tmp_path / "exits.py"
    plugin.write_text(EXITS.format(top=top), encoding="utf-8")
    config = tmp_path / "config.toml"
    config.write_text(f'[params.Exiter]\nhow = "{how}"\n', encoding="utf-8")
    argv = ["backtest", "--config", str(config), "--strategies", f"{plugin}:Exiter"]
    argv += ["--start", "2017-02-01", "--end", "2017-03-31", "--seeds", seeds]
    argv += ["--workers", "2", "--out", str(tmp_path / "run")]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert err.startswith("error: ") and "Traceback" not in err
    assert not (tmp_path / "run").exists()
    return err


@pytest.mark.parametrize("seeds", ["0", "0,1"], ids=["in this process", "in workers"])
def test_sys_exit_in_a_strategy_is_one_line_naming_it(tmp_path, capsys, seeds):
    err = run(tmp_path, capsys, "sys", seeds)
    assert err.startswith("error: strategy Exiter: its code (")
    assert f"{tmp_path / 'exits.py'}:19) called sys.exit(3)" in err


def test_sys_exit_while_a_plugin_loads_is_one_line(tmp_path, capsys):
    err = run(tmp_path, capsys, "sys", "0", top="sys.exit('no')")
    assert f"{tmp_path / 'exits.py'}:Exiter" in err and "called sys.exit('no')" in err


def test_os_exit_in_a_worker_names_the_strategy_and_the_exit_status(tmp_path, capsys):
    err = run(tmp_path, capsys, "os", "0,1")
    assert f"strategy {tmp_path / 'exits.py'}:Exiter (seed " in err
    assert "ended its worker process with exit status 7" in err
    assert "out of memory" not in err
