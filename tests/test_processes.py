"""Worker processes end with their parent, however it ends: killed (SIGKILL), or on
Ctrl-C, which prints one line, exits with 130 and leaves no run folder, no worker and no
shared memory behind. Each test looks only at what it made: its own processes, and the
shared memory blocks they map (other programs on the machine make blocks of their own)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from quant.engine import AShareStrategy, BacktestConfig, Context, Plan
from quant.workers import WorkerDied, run_in_workers

ROOT = Path(__file__).resolve().parents[1]
SHM = Path("/dev/shm")


class Sleeper(AShareStrategy):
    """Marks that a worker is inside its run (a file named after its pid), then sleeps:
    a run that is still busy when the test acts."""

    uses_seed = True

    class Params(AShareStrategy.Params):
        marks: str = ""
        """The folder of the marks."""

    @classmethod
    def prepare(cls, context: Context, params: Params) -> Plan:
        Path(params.marks, f"{os.getpid()}.pid").write_text(str(context.seed))
        time.sleep(300)
        return Plan(codes=list(context.panel.codes[:1]))


def wait_for(condition, seconds: float, what: str) -> None:
    """Poll ``condition`` until it holds (a bound on waiting, not a measured time)."""
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting for {what}")
        time.sleep(0.1)


def gone(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def mapped_blocks(pids: list[int]) -> set[Path]:
    """The shared memory blocks (``/dev/shm/psm_*``: multiprocessing.shared_memory's)
    these processes map."""
    return {
        Path(region.path)
        for pid in pids
        for region in psutil.Process(pid).memory_maps(grouped=True)
        if Path(region.path).parent == SHM and Path(region.path).name.startswith("psm_")
    }


@pytest.fixture
def busy_run(tmp_path):
    """``quant backtest`` with two seeds of Sleeper in two workers, in its own process
    group (as a terminal's foreground job is), once both workers are inside their runs."""
    marks = tmp_path / "marks"
    marks.mkdir()
    config = BacktestConfig(
        start="2015-01-01",
        end="2015-03-31",
        strategies=["tests.test_processes:Sleeper"],
        seeds=[0, 1],
        workers=2,
        params={"Sleeper": {"marks": str(marks)}},
    )
    (tmp_path / "config.toml").write_text(config.to_toml())
    command = [sys.executable, "-m", "quant", "backtest", "--config", str(tmp_path / "config.toml")]
    parent = subprocess.Popen(
        [*command, "--out", str(tmp_path / "run")],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
        # Ctrl-C as a terminal's job gets it, whatever this process's own disposition
        # (an ignored SIGINT is inherited, and Python then installs no handler for it)
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    try:
        wait_for(lambda: len(list(marks.glob("*.pid"))) == 2, 180, "two workers in their runs")
        workers = [int(p.stem) for p in marks.glob("*.pid")]
        assert parent.pid not in workers
        blocks = mapped_blocks([parent.pid, *workers])
        assert len(blocks) == 1  # the panel, shared by the parent with its two workers
        yield parent, workers, blocks
    finally:
        for pid in [parent.pid, *[int(p.stem) for p in marks.glob("*.pid")]]:
            if not gone(pid):
                os.kill(pid, signal.SIGKILL)
        parent.wait()


def test_workers_end_when_the_parent_is_killed(busy_run):
    parent, workers, blocks = busy_run
    os.kill(parent.pid, signal.SIGKILL)
    parent.wait()
    wait_for(lambda: all(gone(pid) for pid in workers), 10, "the workers to end")
    # the resource tracker frees the shared panel once the workers are gone
    wait_for(lambda: not any(b.exists() for b in blocks), 10, "the shared memory to be freed")


def test_ctrl_c_prints_one_line_exits_130_and_leaves_nothing(busy_run, tmp_path):
    parent, workers, blocks = busy_run
    os.killpg(parent.pid, signal.SIGINT)  # what the terminal does: the whole group
    _, err = parent.communicate(timeout=60)
    assert parent.returncode == 130
    assert err.splitlines()[-1] == "interrupted"
    assert "Traceback" not in err and "leaked" not in err and "KeyboardInterrupt" not in err
    assert all(gone(pid) for pid in workers)
    assert not (tmp_path / "run").exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".run.")]
    assert not any(block.exists() for block in blocks)


def die_in_the_second_job(job: int) -> int:
    if job == 1:
        os.kill(os.getpid(), signal.SIGKILL)  # what the kernel's out-of-memory killer does
    return job


def test_a_worker_killed_in_a_run_is_one_clear_error():
    with pytest.raises(WorkerDied, match="a worker process ended in the middle of a run"):
        run_in_workers(die_in_the_second_job, [(0,), (1,), (2,)], workers=2)


def pid_of_job(job: int) -> tuple[int, int]:
    return job, os.getpid()


def test_fresh_workers_run_each_job_in_a_process_of_its_own():
    """A backtest's runs go to fresh processes (quant.engine.runner): the memory one run
    leaves behind is given back before the next; plain pools reuse their workers."""
    jobs = [(k,) for k in range(4)]
    fresh = run_in_workers(pid_of_job, jobs, workers=2, fresh=True)
    assert [job for job, _ in fresh] == [0, 1, 2, 3]
    assert len({pid for _, pid in fresh}) == 4 and os.getpid() not in {p for _, p in fresh}
    reused = run_in_workers(pid_of_job, jobs, workers=2)
    assert len({pid for _, pid in reused}) <= 2
