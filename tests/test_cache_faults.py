"""A model cache is data, never code: a crafted checkpoint that would run code when
unpickled is refused and the model trained again; a flipped bit or a cut in any file of a
cache entry (checkpoint, table, report) is found by its checksum, reported in one line and
rebuilt, never used and never a traceback."""

from __future__ import annotations

import logging
import os
import shutil
from pathlib import Path

import pandas as pd
import pytest
import torch

from quant import signals
from quant.manifest import add_to_manifest, check_files
from quant.models.cnn import CNNRanker
from quant.models.training import CheckpointError, load_checkpoint, save_checkpoint
from tests.test_signals import PANEL, TINY, build


class RunsCode:
    """Unpickled (``weights_only=False``), it creates the file ``marker``: what a
    hostile checkpoint would do with a shell command."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def crafted(path: Path, marker: Path) -> None:
    """A checkpoint of the platform's shape whose weights are a pickle that runs code."""
    torch.save({"state_dict": RunsCode(marker), "meta": "{}"}, path)


@pytest.fixture(scope="module")
def pristine(tmp_path_factory) -> signals.SignalTables:
    return build(PANEL, TINY, tmp_path_factory.mktemp("cache"))


@pytest.fixture
def entry(pristine, tmp_path) -> Path:
    """A copy of the built cache entry, to damage."""
    folder = tmp_path / "cache" / pristine.folder.name
    shutil.copytree(pristine.folder, folder)
    return folder


@pytest.fixture
def trainings(monkeypatch) -> list[str]:
    """The models trained by builds in the test, by name."""
    done: list[str] = []
    real = signals.training.train

    def counted(settings, *args, **kwargs):
        done.append(kwargs["desc"])
        return real(settings, *args, **kwargs)

    monkeypatch.setattr(signals.training, "train", counted)
    return done


def rebuild(entry: Path) -> signals.SignalTables:
    return build(PANEL, TINY, entry.parent)


def same_tables(one: signals.SignalTables, other: signals.SignalTables) -> None:
    for name in signals.TABLES:
        pd.testing.assert_frame_equal(getattr(one, name), getattr(other, name))


def drop_tables(entry: Path) -> None:
    """What an interrupted build (or a cache copied without its report) leaves: the
    checkpoints alone, which a build then reads."""
    for name in signals.cache.TABLE_FILES:
        (entry / name).unlink()


def test_a_crafted_checkpoint_is_refused_by_the_loader(tmp_path):
    marker = tmp_path / "ran"
    crafted(tmp_path / "evil.pt", marker)
    with pytest.raises(CheckpointError, match=r"evil\.pt: not a weights-only checkpoint"):
        load_checkpoint(tmp_path / "evil.pt", CNNRanker().build())
    assert not marker.exists()
    good = save_checkpoint(tmp_path / "good.pt", CNNRanker().build(), {"record": {"a": 1}})
    assert load_checkpoint(good, CNNRanker().build()) == {"record": {"a": 1}}


@pytest.mark.parametrize("listed", [False, True], ids=["foreign", "listed in the manifest"])
def test_a_crafted_checkpoint_never_runs_and_the_model_is_trained_again(
    pristine, entry, trainings, tmp_path, caplog, listed
):
    """Without its manifest entry (a file from elsewhere) the checksum refuses it; with
    one (the attacker rewrote the manifest too) the weights-only reader does."""
    marker = tmp_path / "ran"
    drop_tables(entry)
    checkpoint = next(entry.glob("cnn_*.pt"))
    crafted(checkpoint, marker)
    if listed:
        add_to_manifest(entry, checkpoint.name)
    with caplog.at_level(logging.WARNING):
        tables = rebuild(entry)
    assert not marker.exists()
    assert trainings == [f"cnn {checkpoint.stem.split('_', 1)[1]}"]  # that model alone
    [warning] = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert checkpoint.name in warning and warning.endswith("trained again")
    assert "\n" not in warning
    same_tables(tables, pristine)  # the same seed trains the same model
    check_files(entry)  # the new checkpoint is in the manifest


KINDS = ["cnn_*.pt", "lstm_*.pt", "selection.parquet", "timing.parquet", "cnn_monthly.parquet"]


@pytest.mark.parametrize("kind", [*KINDS, "report.json"])
@pytest.mark.parametrize("damage", ["flipped bit", "cut short"])
def test_a_damaged_cache_file_is_found_reported_and_rebuilt(
    pristine, entry, trainings, caplog, kind, damage
):
    path = next(entry.glob(kind))
    data = bytearray(path.read_bytes())
    if damage == "flipped bit":
        data[len(data) // 2] ^= 0x04
    else:
        data = data[: len(data) // 2]
    path.write_bytes(bytes(data))
    if kind.endswith(".pt"):
        drop_tables(entry)  # a checkpoint is read when its tables must be made again
    with caplog.at_level(logging.WARNING):
        tables = rebuild(entry)
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and path.name in warnings[0] and "\n" not in warnings[0]
    same_tables(tables, pristine)
    assert trainings == ([f"{kind[:4].strip('_')} 2014-04"] if kind.endswith(".pt") else [])
    check_files(entry)  # whole again


def test_a_missing_manifest_rebuilds_the_tables_from_the_checked_checkpoints(
    pristine, entry, trainings, caplog
):
    (entry / "manifest.json").unlink()
    with caplog.at_level(logging.WARNING):
        tables = rebuild(entry)
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert "no manifest.json" in warnings[0]
    same_tables(tables, pristine)
    # with no manifest, nothing of the entry is trusted: both models are trained again
    assert sorted(trainings) == ["cnn 2014-04", "lstm 2014-04"]
