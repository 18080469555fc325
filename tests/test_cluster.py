"""A sweep on a Ray cluster as docs/sweeps.md starts one: two nodes (``ray start --head``,
``ray start --address``) on this machine with token authentication, each with its own
ports and Ray folder. The second node runs in a mount namespace of its own where the
sweep's folder is hidden under an empty tmpfs, so it sees another folder at ``--out`` (and
at the plug-in's path), as a node without the shared disk does. Every cell's results reach
the driver through Ray, cells run on both nodes, and the plug-in named by a relative path
runs on both (shipped with the job). Without the token, joining is one line that says
what to set."""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import psutil
import pytest

ROOT = Path(__file__).resolve().parents[1]
RAY = str(Path(sys.executable).with_name("ray"))
PLUGIN = """
from quant.engine import AShareStrategy, Plan


class Holder(AShareStrategy):
    \"\"\"Buys the code at position ``pick`` of the market on the first day and holds it.\"\"\"

    class Params(AShareStrategy.Params):
        pick: int = 0
        \"\"\"Which code (by position).\"\"\"

    @classmethod
    def prepare(cls, context, params):
        return Plan(codes=[context.panel.codes[params.pick]])

    def next(self):
        code = self.plan.codes[0]
        if not self.held(code) and self.tradable(code):
            self.order_target_value(code, 0.9 * self.equity)
"""
SWEEP = """
data = "sample"
index_data = "sample"
strategies = ["benchmark", "plug/holder.py:Holder"]
cache_dir = "cache"
[sweep]
"params.Holder.pick" = [0, 1, 2, 3]
windows = [["2017-01-01", "2017-03-31"]]
"""


def free_ports(count: int) -> list[int]:
    sockets = [socket.socket() for _ in range(count)]
    for one in sockets:
        one.bind(("127.0.0.1", 0))
    ports = [one.getsockname()[1] for one in sockets]
    for one in sockets:
        one.close()
    return ports


def node_ports() -> list[str]:
    """Every port a node opens, free ones: two nodes on one machine (and other users'
    Ray) must not meet on Ray's default ports."""
    ports = free_ports(7)
    names = [
        "--node-manager-port",
        "--object-manager-port",
        "--dashboard-agent-listen-port",
        "--dashboard-agent-grpc-port",
        "--runtime-env-agent-port",
        "--metrics-export-port",
        "--min-worker-port",
    ]
    options = [part for name, port in zip(names, ports) for part in (name, str(port))]
    return [*options, "--max-worker-port", str(ports[-1] + 30)]


@dataclass
class Cluster:
    address: str
    env: dict[str, str]
    work: Path  # the driver's folder: the sweep file, the plug-in, --out
    hidden: bool  # whether the second node sees another folder at ``work``


def hide(work: Path, seen: Path) -> list[str]:
    """The command that starts the second node in a mount namespace of its own, with an
    empty tmpfs over ``work`` (what it saw there goes to ``seen``); plain where no such
    namespace can be made."""
    script = f'mount -t tmpfs tmpfs {work} && ls -A {work} > {seen} && exec "$@"'
    for unshare in (
        ["unshare", "--mount", "--propagation", "private"],
        ["unshare", "--user", "--map-root-user", "--mount", "--propagation", "private"],
    ):
        probe = subprocess.run(
            [*unshare, "sh", "-c", f"mount -t tmpfs tmpfs {work}"], capture_output=True
        )
        if probe.returncode == 0:
            return [*unshare, "sh", "-c", script, "node"]
    return []


def stop(process: subprocess.Popen, folders: list[str]) -> None:
    """End a node: ``ray start --block`` stops its processes on SIGTERM; whatever of
    ours is left (processes naming our Ray folders) is killed. Never ``ray stop``: it
    stops every Ray of the machine."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(60)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    for left in psutil.process_iter(["cmdline"]):
        if any(folder in part for part in left.info["cmdline"] or [] for folder in folders):
            with contextlib.suppress(psutil.Error):
                left.kill()


@pytest.fixture(scope="module")
def cluster(tmp_path_factory) -> Iterator[Cluster]:
    work = tmp_path_factory.mktemp("cluster")
    (work / "plug").mkdir()
    (work / "plug" / "holder.py").write_text(PLUGIN, encoding="utf-8")
    (work / "sweep.toml").write_text(SWEEP, encoding="utf-8")
    env = {
        **os.environ,
        "RAY_AUTH_MODE": "token",
        "RAY_AUTH_TOKEN": secrets.token_hex(32),
        "RAY_USAGE_STATS_ENABLED": "0",
    }
    folders = [tempfile.mkdtemp(prefix=p, dir="/tmp") for p in ("qh", "qw")]  # short: sockets
    [port] = free_ports(1)
    common = ["--num-cpus", "1", "--block"]
    logs = [open(Path(folder) / "node.log", "w") for folder in folders]  # noqa: SIM115
    head = subprocess.Popen(
        [
            RAY,
            "start",
            "--head",
            "--port",
            str(port),
            "--temp-dir",
            folders[0],
            "--include-dashboard",
            "false",
            *common,
            *node_ports(),
        ],
        env=env,
        stdout=logs[0],
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    seen = Path(folders[1]) / "seen.txt"
    hidden = hide(work, seen)
    worker = subprocess.Popen(
        [
            *hidden,
            RAY,
            "start",
            "--address",
            f"127.0.0.1:{port}",
            "--temp-dir",
            folders[1],
            *common,
            *node_ports(),
        ],
        env=env,
        stdout=logs[1],
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        wait = (
            "import ray, sys, time; ray.init(address=sys.argv[1], log_to_driver=False)\n"
            "deadline = time.monotonic() + 180\n"
            "while sum(n['Alive'] for n in ray.nodes()) < 2:\n"
            "    assert time.monotonic() < deadline, ray.nodes()\n"
            "    time.sleep(0.5)\n"
        )
        joined = subprocess.run(
            [sys.executable, "-c", wait, f"127.0.0.1:{port}"],
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert joined.returncode == 0, joined.stderr[-2000:]
        if hidden:
            assert seen.read_text() == ""  # the second node sees an empty folder there
        print(f"second node {'in a namespace of its own' if hidden else 'sharing the disk'}")
        yield Cluster(f"127.0.0.1:{port}", env, work, bool(hidden))
    finally:
        stop(worker, [folders[1]])
        stop(head, folders)
        for log in logs:
            log.close()
        for folder in folders:
            shutil.rmtree(folder, ignore_errors=True)


def test_every_cell_reaches_the_driver_from_both_nodes(cluster):
    command = [sys.executable, "-m", "quant", "sweep", "--config", "sweep.toml", "--out", "out"]
    run = subprocess.run(
        [*command, "--address", cluster.address],
        cwd=cluster.work,
        env=cluster.env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    assert "4 cells: 4 ran, 0 finished earlier (skipped), 0 failed" in run.stdout
    results = pd.read_csv(cluster.work / "out" / "results.csv")
    assert len(results) == 8 and (results["status"] == "ok").all()
    holders = results[results["strategy"] == "Holder"]
    assert holders["trades"].min() >= 1  # the plug-in ran (and bought) in every cell
    nodes = {
        json.loads(path.read_text())["node"]
        for path in (cluster.work / "out").glob("cells/*/cell.json")
    }
    # both nodes ran cells, the second one (when hidden) without the plug-in's file or
    # the sweep's folder at their paths: the plug-in came with the job, the results
    # through Ray
    assert len(nodes) == 2


def test_without_the_token_joining_is_one_line_that_says_what_to_set(cluster, tmp_path):
    env = {k: v for k, v in cluster.env.items() if not k.startswith("RAY_AUTH")}
    env["HOME"] = str(tmp_path)  # no ~/.ray/auth_token either
    command = [sys.executable, "-m", "quant", "sweep", "--config", "sweep.toml"]
    run = subprocess.run(
        [*command, "--out", str(tmp_path / "out"), "--address", cluster.address],
        cwd=cluster.work,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 2
    err = run.stderr.strip().splitlines()[-1]
    assert err.startswith(f"error: cannot start or join the Ray cluster at {cluster.address}")
    assert "set RAY_AUTH_MODE=token and its token" in err
