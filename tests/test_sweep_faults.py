"""Sweeps under faults: a damaged cell (a flipped bit or a cut in any kind of its files, files
missing or added) is reported in one line and run again, never used; two sweeps started
together into one folder run every cell once and leave results.csv and report.md agreeing;
a full disk and a read-only folder end in one line with nothing half-written; a killed
command leaves no process behind; degenerate ``--out`` paths are one line."""

from __future__ import annotations

import logging
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd
import psutil
import pytest
import ray

from quant.cli import main
from quant.engine import AShareStrategy, Context, Plan
from quant.io import remove_stale_temporaries
from quant.rundir import OutputError
from quant.sweep import read_sweep, sweep
from quant.sweep.run import cell_damage, cell_folder

ROOT = Path(__file__).resolve().parents[1]
CHEAP = """
data = "sample"
index_data = "sample"
strategies = ["benchmark"]
[sweep]
cash = [1e6, 2e6, 3e6, 4e6, 5e6, 6e6, 7e6, 8e6, 9e6, 1e7]
windows = [["2017-02-01", "2017-03-31"]]
"""
SMALL = CHEAP.replace("[1e6, 2e6, 3e6, 4e6, 5e6, 6e6, 7e6, 8e6, 9e6, 1e7]", "[1e6, 2e6]")
SLEEPING = """
data = "sample"
index_data = "sample"
strategies = ["tests.test_sweep_faults:Sleeper"]
[params.Sleeper]
marks = "{marks}"
[sweep]
"params.Sleeper.nap" = [1, 2]
windows = [["2017-01-01", "2017-03-31"]]
"""


class Sleeper(AShareStrategy):
    """Marks that its cell runs (a file named after its process), then sleeps."""

    class Params(AShareStrategy.Params):
        marks: str = ""
        """The folder of the marks."""
        nap: int = 1
        """A swept value (the sweep needs one)."""

    @classmethod
    def prepare(cls, context: Context, params: Params) -> Plan:
        Path(params.marks, f"{os.getpid()}.pid").write_text("")
        time.sleep(300)
        return Plan(codes=list(context.panel.codes[:1]))


@pytest.fixture(scope="module", autouse=True)
def local_ray():
    ray.init(address="local", num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield
    ray.shutdown()


def write(folder: Path, text: str, name: str = "sweep.toml") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def swept(tmp_path_factory):
    folder = tmp_path_factory.mktemp("sweep")
    plan = read_sweep(write(folder, CHEAP))
    outcome, frame = sweep(plan, folder / "out")
    assert len(outcome.ran) == 10 and not outcome.failed
    return plan, folder / "out", frame


def flip(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x10
    path.write_bytes(bytes(data))


def cut(path: Path) -> None:
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


#: One kind of damage per cell: what is done to its folder, and what the line names.
DAMAGE = {
    "config.toml flipped": (lambda f: flip(f / "config.toml"), "config.toml"),
    "metrics.json cut short": (lambda f: cut(f / "metrics.json"), "metrics.json"),
    "report.md flipped": (lambda f: flip(f / "report.md"), "report.md"),
    "cell.json flipped": (lambda f: flip(f / "cell.json"), "cell.json"),
    "nav.csv flipped": (lambda f: flip(f / "nav.csv"), "nav.csv"),
    "positions.parquet flipped": (lambda f: flip(f / "positions.parquet"), "positions.parquet"),
    "net_value.png flipped": (lambda f: flip(f / "net_value.png"), "net_value.png"),
    "manifest.json flipped": (lambda f: flip(f / "manifest.json"), "manifest.json"),
    "two files missing": (
        lambda f: [(f / n).unlink() for n in ("trades.parquet", "drawdown.png")],
        "is missing",
    ),
    "a file added": (lambda f: (f / "notes.txt").write_text("mine"), "notes.txt"),
}


def test_a_damaged_cell_is_reported_in_one_line_and_run_again(swept, tmp_path, caplog):
    plan, original, frame = swept
    out = tmp_path / "out"
    shutil.copytree(original, out)
    cells = {cell.key: cell for cell in plan.cells}
    damaged = dict(zip(cells, DAMAGE))
    for key, kind in damaged.items():
        DAMAGE[kind][0](cell_folder(out, cells[key]))
        assert cell_damage(out, cells[key]), kind  # found before any run
    with caplog.at_level(logging.WARNING):
        outcome, again = sweep(read_sweep(plan.source), out)
    assert sorted(outcome.ran) == sorted(damaged) and not outcome.skipped
    for key, kind in damaged.items():
        line = outcome.damaged[key]
        assert DAMAGE[kind][1] in line and "\n" not in line, (kind, line)
        assert cell_damage(out, cells[key]) is None, kind  # whole again
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len([w for w in warnings if w.endswith("the cell runs again")]) == len(damaged)
    figures = ["cell", "strategy", "annualized_return", "max_drawdown", "final_equity"]
    pd.testing.assert_frame_equal(again[figures], frame[figures])


def test_two_sweeps_started_together_run_each_cell_once(tmp_path):
    config = write(tmp_path, SMALL)
    out = tmp_path / "out"
    command = [sys.executable, "-m", "quant", "sweep", "--config", str(config), "--out", str(out)]
    runs = [
        subprocess.Popen(
            [*command, "--cpus", "1"],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    results = [run.communicate(timeout=400) for run in runs]
    assert [run.returncode for run in runs] == [0, 0], results
    counts = [
        re.search(r"2 cells: (\d+) ran, (\d+) finished earlier", o).groups() for o, _ in results
    ]
    assert sorted(counts) == [("0", "2"), ("2", "0")]  # one ran both cells, the other none
    waited = results[[c[0] for c in counts].index("0")][1]
    assert "is in use by the sweep of process" in waited
    rows = pd.read_csv(out / "results.csv")
    assert len(rows) == 2 and (rows["status"] == "ok").all()
    report = (out / "report.md").read_text(encoding="utf-8")
    assert "This call ran 0 cells, skipped 2 finished earlier, and 0 failed" in report
    assert "Cells that failed" not in report
    assert not list(out.glob(".*.tmp")) and not list((out / "cells").glob(".*"))


def folder_on_tmpfs(where: Path, size: str) -> Path:
    """A small tmpfs at ``where`` (a disk that fills), or a skip where it cannot be made."""
    where.mkdir(parents=True)
    made = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(where)],
        capture_output=True,
        text=True,
    )
    if made.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here (needs root): {made.stderr.strip()}")
    return where


@pytest.fixture
def small_disk(tmp_path):
    disk = folder_on_tmpfs(tmp_path / "disk", "16m")  # the sweep's report.html: ~6 MB
    yield disk
    subprocess.run(["umount", str(disk)], check=True)


def test_a_full_disk_is_one_line_and_leaves_nothing_half_written(small_disk, tmp_path):
    plan = read_sweep(write(tmp_path, SMALL))
    filler = small_disk / "filler"
    with open(filler, "wb") as handle:  # leave about 100 kB: the sweep file, not a cell
        handle.write(b"\0" * (shutil.disk_usage(small_disk).free - 100_000))
    out = small_disk / "out"
    with pytest.raises(OutputError) as error:
        sweep(plan, out)
    message = str(error.value)
    assert "No space left on device" in message and "\n" not in message
    assert "the sweep stopped (0 whole cells are kept" in message
    assert not (out / "cells").exists() or not list((out / "cells").iterdir())
    assert not list(out.glob(".*.tmp")) and not (out / "results.csv").exists()
    filler.unlink()  # room again: the same call finishes the sweep
    outcome, frame = sweep(plan, out)
    assert len(outcome.ran) == 2 and (frame["status"] == "ok").all()
    assert all(cell_damage(out, cell) is None for cell in plan.cells)


@pytest.fixture
def read_only(tmp_path):
    """A folder this process cannot write: by its mode, or (root ignores modes) a
    read-only tmpfs."""
    if os.geteuid() != 0:
        folder = tmp_path / "ro"
        folder.mkdir()
        folder.chmod(0o555)
        yield folder
        folder.chmod(0o755)
        return
    folder = folder_on_tmpfs(tmp_path / "ro", "1m")
    subprocess.run(["mount", "-o", "remount,ro", str(folder)], check=True)
    yield folder
    subprocess.run(["umount", str(folder)], check=True)


def test_a_read_only_folder_is_one_line(read_only, tmp_path, capsys):
    config = write(tmp_path, SMALL)
    for out in (read_only, read_only / "new"):  # an empty folder, and one to make inside
        assert main(["sweep", "--config", str(config), "--out", str(out)]) == 2
        err = capsys.readouterr().err.strip()
        assert err.startswith(f"error: cannot write the sweep folder {out}") and "\n" not in err
        assert "Read-only file system" in err or "Permission denied" in err


def test_degenerate_out_paths_are_one_line(tmp_path, capsys, monkeypatch):
    config = write(tmp_path, SMALL)
    monkeypatch.chdir(tmp_path)
    cases = [
        (["sweep", "--config", str(config), "--out", "/"], "cannot write a sweep folder at /"),
        (["backtest", "--out", "/"], "cannot write a run folder at /"),
        (["backtest", "--out", "."], "it is the current folder or holds it"),
        (["backtest", "--out", ".."], "it is the current folder or holds it"),
        (["backtest", "--out", str(config / "x")], "is a file"),
    ]
    for argv, expected in cases:
        assert main(argv) == 2, argv
        err = capsys.readouterr().err.strip()
        assert expected in err and "\n" not in err and "Traceback" not in err, (argv, err)


def gone(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def test_no_process_outlives_a_killed_sweep(tmp_path):
    """SIGKILL of ``quant sweep`` while its cells run on a local Ray: every process it
    started (Ray's, their workers and agents, the reaper) ends within seconds (Ray's own
    agents alone would wait 60 s)."""
    marks = tmp_path / "marks"
    marks.mkdir()
    config = write(tmp_path, SLEEPING.format(marks=marks))
    ray_tmp = tempfile.mkdtemp(prefix="qr", dir="/tmp")  # Ray's sockets need a short path
    command = [sys.executable, "-m", "quant", "sweep", "--config", str(config)]
    driver = subprocess.Popen(
        [*command, "--out", str(tmp_path / "out"), "--cpus", "2"],
        cwd=ROOT,
        env={**os.environ, "RAY_TMPDIR": ray_tmp},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    started: list[psutil.Process] = []
    try:
        deadline = time.monotonic() + 240
        while len(list(marks.glob("*.pid"))) < 2:
            assert time.monotonic() < deadline and driver.poll() is None, "no cell started"
            time.sleep(0.2)
        started = psutil.Process(driver.pid).children(recursive=True)
        cells = [int(p.stem) for p in marks.glob("*.pid")]
        assert set(cells) <= {p.pid for p in started} and len(started) > 5
        killed = time.monotonic()
        driver.kill()
        driver.wait()
        while not all(gone(p.pid) for p in started):
            left = [p.pid for p in started if not gone(p.pid)]
            assert time.monotonic() - killed < 30, f"still running 30 s after the kill: {left}"
            time.sleep(0.1)
        print(f"all {len(started)} processes gone {time.monotonic() - killed:.1f} s after the kill")
        assert not list((tmp_path / "out").glob("cells/*"))  # nothing half-written
        # the killed cells' scratch folders: gone (removed by their own exit on Ray's
        # SIGTERM, or, after a SIGKILL, by the next cell's clean-up, run here)
        remove_stale_temporaries(tempfile.gettempdir(), "quant-cell")
        root = Path(tempfile.gettempdir())
        assert not [p for pid in cells for p in root.glob(f".quant-cell.{pid}.*")]
    finally:
        if driver.poll() is None:
            driver.kill()
            driver.wait()
        for process in started:  # whatever a failed check left
            if not gone(process.pid):
                process.kill()
        shutil.rmtree(ray_tmp, ignore_errors=True)
