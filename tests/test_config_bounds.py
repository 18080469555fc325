"""Config files are read up to 1 MB, and an error line stays short however much of a file
is wrong: at most ten keys named (then how many more), values shortened."""

from __future__ import annotations

from pathlib import Path

import pytest

from quant.cli import main
from quant.settings import MAX_CONFIG_BYTES

#: Longer than any line the platform should print for a config.
LONGEST = 2_000


def error_line(argv: list[str], capsys) -> str:
    assert main(argv) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), lines[:3]
    return lines[0]


@pytest.mark.parametrize("command", ["backtest", "sweep"])
def test_a_config_larger_than_the_bound_is_refused_unread(tmp_path, capsys, command):
    path = tmp_path / "big.toml"
    path.write_text("# " + "x" * MAX_CONFIG_BYTES + "\n", encoding="utf-8")
    line = error_line([command, "--config", str(path), "--out", str(tmp_path / "o")], capsys)
    what = {"backtest": "config file", "sweep": "sweep file"}[command]
    assert line == f"error: {path}: more than 1 MB, too large for a {what}"


def test_an_endless_file_costs_only_the_bound(capsys):
    line = error_line(["backtest", "--config", "/dev/zero"], capsys)
    assert "more than 1 MB" in line


def test_thousands_of_unknown_keys_make_one_short_line(tmp_path, capsys):
    path = tmp_path / "keys.toml"
    path.write_text("".join(f"key{k} = 1\n" for k in range(50_000)), encoding="utf-8")
    assert path.stat().st_size < MAX_CONFIG_BYTES
    line = error_line(["backtest", "--config", str(path)], capsys)
    assert len(line) < LONGEST
    assert "unknown setting(s) key0, key1," in line and ", and 49,990 more;" in line


def test_a_huge_value_is_shown_shortened(tmp_path, capsys):
    path = tmp_path / "value.toml"
    path.write_text(f'cash = "{"9" * 500_000}"\n', encoding="utf-8")
    line = error_line(["backtest", "--config", str(path)], capsys)
    assert len(line) < LONGEST and "cash = '99999" in line and "...:" in line


def test_bytes_that_are_not_text_are_one_line(tmp_path, capsys):
    path = tmp_path / "binary.toml"
    path.write_bytes(b"cash = 1\n\xff\xfe\x00")
    line = error_line(["backtest", "--config", str(path)], capsys)
    assert line == f"error: {Path(path)}: not UTF-8 text (byte 9)"
