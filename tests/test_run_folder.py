"""Run folders are whole: checked before any work, written beside the target and swapped
in, an earlier run replaced whole (only with --force), anything else never touched, and
a kill at any moment leaves the old run or the new one, whole."""

from __future__ import annotations

import contextlib
import io
import json
import os
import pickle
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

import quant.io
from quant.cli import main
from quant.engine import BacktestConfig, run_backtest
from quant.io import remove_stale_temporaries
from quant.manifest import check_files
from quant.report import write_run
from quant.rundir import OutputError, check_output, staged_folder

ROOT = Path(__file__).resolve().parents[1]
WINDOW = ["--start", "2015-01-01", "--end", "2015-03-31"]


def snapshot(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def leftovers(target: Path) -> list[str]:
    return sorted(p.name for p in target.parent.iterdir() if p.name.startswith(f".{target.name}."))


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    """A bigger run (three strategies) and a smaller one (one), pickled for the drivers."""
    folder = tmp_path_factory.mktemp("results")
    made = {}
    for name, strategies in (
        ("big", ["benchmark", "momentum", "reversal"]),
        ("small", ["benchmark"]),
    ):
        config = BacktestConfig(
            start="2015-01-01", end="2015-03-31", strategies=strategies, workers=1
        )
        made[name] = folder / f"{name}.pickle"
        made[name].write_bytes(pickle.dumps(run_backtest(config)))
    return made


def load(path: Path):
    return pickle.loads(path.read_bytes())


# -- checked before any work ---------------------------------------------------------------
@pytest.mark.parametrize("case", ["a file", "under a file", "read-only parent"])
def test_an_unwritable_output_is_one_line_before_the_data_is_read(case, tmp_path, capsys):
    (tmp_path / "file").write_text("mine")
    with _read_only_folder() as locked:
        out = {
            "a file": tmp_path / "file",
            "under a file": tmp_path / "file" / "run",
            "read-only parent": locked / "run",
        }[case]
        # data that does not exist: had it been read first, that would be the error
        args = ["backtest", "--data", str(tmp_path / "nowhere.parquet"), "--out", str(out)]
        if case == "read-only parent":
            code, err = _unprivileged(lambda: main(args))
        else:
            code, err = main(args), capsys.readouterr().err
        assert list(locked.iterdir()) == []  # not even a staging folder
    assert code == 2
    assert err.count("\n") == 1 and err.startswith("error: ") and "nowhere" not in err
    assert str(out) in err
    assert (tmp_path / "file").read_text() == "mine"


@contextlib.contextmanager
def _read_only_folder() -> Iterator[Path]:
    """A read-only folder inside one that anyone may enter."""
    base = Path(tempfile.mkdtemp(prefix="quant-test-"))
    base.chmod(0o755)
    locked = base / "locked"
    locked.mkdir()
    locked.chmod(0o555)
    try:
        yield locked
    finally:
        locked.chmod(0o755)
        shutil.rmtree(base)


def _unprivileged(command: Callable[[], int]) -> tuple[int, str]:
    """``command``'s exit code and stderr, run by a user that file permissions bind: as
    root (whom a read-only folder does not stop), in a forked child that has become
    'nobody' (uid 65534)."""
    if os.geteuid() != 0:
        stderr = io.StringIO()
        with contextlib.redirect_stderr(stderr):
            return command(), stderr.getvalue()
    read, write = os.pipe()
    child = os.fork()
    if child == 0:  # pragma: no cover - the child
        try:
            os.close(read)
            os.setgid(65534)
            os.setuid(65534)
            stderr = io.StringIO()
            with contextlib.redirect_stderr(stderr):
                code = command()
            os.write(write, json.dumps([code, stderr.getvalue()]).encode())
        finally:
            os._exit(0)
    os.close(write)
    with os.fdopen(read) as pipe:
        answer = pipe.read()
    os.waitpid(child, 0)
    code, err = json.loads(answer)
    return code, err


# -- what may be written over ----------------------------------------------------------------
def test_an_earlier_run_is_refused_without_force_and_replaced_whole_with_it(results, tmp_path):
    out = tmp_path / "run"
    write_run(load(results["big"]), out)
    big = snapshot(out)
    assert "momentum" in (out / "nav.csv").read_text()
    with pytest.raises(OutputError, match="holds an earlier run: pass --force"):
        check_output(out)
    with pytest.raises(OutputError, match="holds an earlier run"):
        write_run(load(results["small"]), out)
    assert snapshot(out) == big

    write_run(load(results["small"]), out, force=True)
    fresh = tmp_path / "fresh"
    write_run(load(results["small"]), fresh)
    assert snapshot(out) == snapshot(fresh)  # nothing of the bigger run is left
    assert leftovers(out) == []


@pytest.mark.parametrize("extra", ["notes.txt", "data/"])
def test_a_folder_that_is_not_a_run_is_never_replaced(extra, results, tmp_path):
    out = tmp_path / "run"
    write_run(load(results["small"]), out)
    (out / extra.rstrip("/")).mkdir() if extra.endswith("/") else (out / extra).write_text("mine")
    before = sorted(p.name for p in out.iterdir())
    with pytest.raises(OutputError, match=f"is not a run folder \\(it holds {extra.rstrip('/')}"):
        write_run(load(results["big"]), out, force=True)
    assert sorted(p.name for p in out.iterdir()) == before
    other = tmp_path / "mine"
    other.mkdir()
    (other / "thesis.md").write_text("mine")
    with pytest.raises(OutputError, match=r"not a run folder \(no config.toml or metrics.json"):
        check_output(other, force=True)
    assert leftovers(out) == [] and leftovers(other) == []


def test_an_empty_folder_is_written_into(results, tmp_path):
    out = tmp_path / "empty"
    out.mkdir()
    write_run(load(results["small"]), out)
    assert (out / "metrics.json").exists()


def test_a_failed_write_leaves_the_earlier_run_and_no_staging_folder(
    results, tmp_path, monkeypatch
):
    out = tmp_path / "run"
    write_run(load(results["big"]), out)
    big = snapshot(out)

    def full_disk(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("quant.report.folder.render_report", full_disk)
    with pytest.raises(OutputError, match="No space left on device \\(what was there is left"):
        write_run(load(results["small"]), out, force=True)
    assert snapshot(out) == big and leftovers(out) == []


# -- a kill at any moment ----------------------------------------------------------------
DRIVER = """
import os, pickle, shutil, signal, sys
from pathlib import Path
from quant import io
from quant.manifest import check_files
from quant.report import write_run
result, out, point = pickle.loads(Path(sys.argv[1]).read_bytes()), sys.argv[2], sys.argv[3]
die = lambda *args, **kwargs: os.kill(os.getpid(), signal.SIGKILL)
if point.startswith("file-"):  # the n-th file of the new run is written, not yet renamed
    count, replace = [int(point[5:])], os.replace
    def counted(a, b):
        count[0] -= 1
        return die() if count[0] == 0 else replace(a, b)
    io.os.replace = counted
elif point == "swapped":  # the new run is in place, the old one not yet deleted
    exchange = io.exchange_folders
    io.exchange_folders = lambda new, old: (exchange(new, old), die())
elif point == "deleting":  # part of the old run is deleted
    def half(path, **kwargs):
        os.remove(sorted(Path(path).iterdir())[0])
        die()
    io.shutil.rmtree = half
elif point == "between-renames":  # no exchange: the old run is aside, the new one not in
    io._exchange_atomically = lambda new, old: False
    rename = os.rename
    io.os.rename = lambda a, b: die() if str(a).endswith(".tmp") else rename(a, b)
write_run(result, out, force=True)
"""


@pytest.mark.parametrize(
    ("point", "survivor"),
    [
        ("file-1", "old"),
        ("file-6", "old"),
        ("swapped", "new"),
        ("deleting", "new"),
        ("between-renames", "old"),
    ],
)
def test_a_kill_at_any_moment_leaves_the_old_or_the_new_run_whole(
    point, survivor, results, tmp_path
):
    out = tmp_path / "run"
    write_run(load(results["big"]), out)
    expected = {"old": snapshot(out)}
    write_run(load(results["small"]), tmp_path / "new")
    expected["new"] = snapshot(tmp_path / "new")

    done = subprocess.run(
        [sys.executable, "-c", DRIVER, str(results["small"]), str(out), point],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == -signal.SIGKILL, done.stderr
    left = leftovers(out)
    if point == "between-renames":  # the target is missing until the next run
        assert not out.exists() and len(left) == 2
    else:
        assert snapshot(out) == expected[survivor]
        assert len(left) == 1 and left[0].endswith(".tmp")  # recognisably unfinished

    remove_stale_temporaries(out.parent, out.name)  # what the next run into it does first
    assert snapshot(out) == expected[survivor] and leftovers(out) == []
    write_run(load(results["small"]), out, force=True)
    assert snapshot(out) == expected["new"] and leftovers(out) == []


def test_without_an_atomic_exchange_the_run_is_still_replaced_whole(results, tmp_path, monkeypatch):
    monkeypatch.setattr(quant.io, "_exchange_atomically", lambda new, old: False)
    out = tmp_path / "run"
    write_run(load(results["big"]), out)
    write_run(load(results["small"]), out, force=True)
    write_run(load(results["small"]), tmp_path / "new")
    assert snapshot(out) == snapshot(tmp_path / "new") and leftovers(out) == []


def test_an_interrupt_while_writing_leaves_nothing_behind(tmp_path):
    out = tmp_path / "run"
    with pytest.raises(KeyboardInterrupt), staged_folder(out) as folder:
        (folder / "nav.csv").write_text("half")
        raise KeyboardInterrupt
    assert not out.exists() and leftovers(out) == []


def test_quant_report_refuses_a_damaged_run_and_keeps_a_whole_one_whole(results, tmp_path, capsys):
    """``quant report`` checks the folder's manifest before reading it: one flipped bit in
    nav.csv is one line naming the file; on a whole folder it rewrites the reports and
    lists them in the manifest, so the folder still checks whole."""
    out = write_run(load(results["small"]), tmp_path / "run")
    assert main(["report", str(out)]) == 0
    check_files(out, exact=True)  # report.md, report.html and the plots listed afresh
    data = bytearray((out / "nav.csv").read_bytes())
    data[len(data) // 2] ^= 0x01
    (out / "nav.csv").write_bytes(bytes(data))
    assert main(["report", str(out)]) == 2
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert "nav.csv differs from its checksum" in line and "damaged run folder" in line
