"""The model base: typed settings with one-line errors, loading by name, module:Class,
file.py:Class or a {class, kwargs} table, the one train's shape check, and a new model
that takes one file (quant/models/examples/gru.py) run by `quant predict`, `quant tune` and
the CNN-LSTM's signals."""

from __future__ import annotations

import json
import pickle
import shlex
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from quant.cli import main
from quant.engine import ConfigError
from quant.models import Model, ModelError, Predictor, Ranker, Timer, train
from quant.models.cnn import CNNRanker
from quant.models.examples.gru import GRUPredictor, GRUTimer
from quant.models.lstm_timer import LSTMTimer
from quant.models.predictors import BPPredictor, LSTM1DPredictor, LSTMPredictor
from quant.signals import SignalConfig, build_signals, preset
from quant.study.library import Library
from strategies.cnn_lstm import CnnLstm
from tests.test_predict_library_cli import SMALL, market_csv  # noqa: F401 - a fixture
from tests.test_signals import PANEL, TINY

ROOT = Path(__file__).resolve().parents[1]
GRU_FILE = f"{ROOT / 'quant/models/examples/gru.py'}:GRUPredictor"


def one_line_error(model: type[Model], settings: dict, **where) -> str:
    with pytest.raises(ModelError) as caught:
        model.of(settings, **where)
    message = str(caught.value)
    assert "\n" not in message
    return message


@pytest.mark.parametrize(
    ("model", "settings", "message"),
    [
        (CNNRanker, {"max_epochs": "5"}, "cnn: max_epochs = '5': input should be a valid integer"),
        (CNNRanker, {"max_epochs": 5.0}, "cnn: max_epochs = 5.0: input should be a valid integer"),
        (
            LSTMTimer,
            {"dropout": -0.1},
            "lstm: dropout = -0.1: input should be greater than or equal to 0",
        ),
        (LSTMTimer, {"dropout": 1.0}, "lstm: dropout = 1.0: input should be less than 1"),
        (CNNRanker, {"lr": float("nan")}, "cnn: lr = nan: input should be a finite number"),
        (CNNRanker, {"lr": 0}, "cnn: lr = 0: input should be greater than 0"),
        (CNNRanker, {"patience": True}, "cnn: patience = True: input should be a valid integer"),
        (CNNRanker, {"channels": [8]}, "cnn: channels.1 is missing in (8,)"),
        (CNNRanker, {"kernel_size": 4}, "cnn: kernel_size must be odd"),
        (
            LSTMTimer,
            {"max_span": 20},
            "lstm: max_span = 20: input should be greater than or equal to 30",
        ),
        (LSTM1DPredictor, {"L": 10, "t": 3}, "lstm1d: needs t dividing L, got L=10, t=3"),
        (
            BPPredictor,
            {"hidden": [8, 0]},
            "bp: hidden.1 = 0: input should be greater than or equal to 1",
        ),
    ],
)
def test_bad_values_are_one_line_errors_naming_model_and_key(model, settings, message):
    assert one_line_error(model, settings).startswith(message)


def test_unknown_keys_name_the_model_the_key_and_the_closest_name():
    message = one_line_error(LSTMTimer, {"hiden": 8, "max_epoch": 3, "colour": 1})
    assert message.startswith(
        "unknown setting(s) hiden (did you mean hidden?), max_epoch (did you mean max_epochs?), "
        "colour for lstm; known: "
    )
    assert one_line_error(
        LSTMPredictor, {"memory": 5}, where="lib.toml: 000538.SZ: ", noun="parameter"
    ).startswith("lib.toml: 000538.SZ: unknown parameter(s) memory (did you mean mem?) for lstm")


def test_settings_are_frozen_typed_and_documented():
    model = CNNRanker.of({"channels": [8, 16], "max_epochs": 7})
    assert model.channels == (8, 16) and model.max_epochs == 7 and model.lr == 1e-3
    with pytest.raises(ValueError, match="frozen"):
        model.lr = 0.1  # type: ignore[misc]
    assert model.replace({"patience": 2}).patience == 2 and model.patience == 20
    for cls in (
        CNNRanker,
        LSTMTimer,
        BPPredictor,
        LSTM1DPredictor,
        LSTMPredictor,
        GRUPredictor,
        GRUTimer,
    ):
        undocumented = [k for k, f in cls.model_fields.items() if not f.description]
        assert not undocumented, (cls.name, undocumented)


def test_models_load_by_name_module_or_file_for_their_task():
    assert Predictor.load("lstm") is LSTMPredictor and Timer.load("lstm") is LSTMTimer
    assert Ranker.load("cnn") is CNNRanker
    assert Predictor.load("quant.models.examples.gru:GRUPredictor") is GRUPredictor
    from_file = Predictor.load(GRU_FILE)
    assert from_file.name == "gru" and Predictor.load(GRU_FILE) is from_file  # loaded once
    assert from_file.ref() == GRU_FILE and LSTMPredictor.ref() == "lstm"
    with pytest.raises(ModelError, match="unknown predictor 'cnn': built-ins are bp, lstm1d, lstm"):
        Predictor.load("cnn")
    with pytest.raises(ModelError, match="GRUTimer is a timer, not a predictor"):
        Predictor.load("quant.models.examples.gru:GRUTimer")
    with pytest.raises(
        ModelError, match=r"has no class 'Nope' \(models there: GRUPredictor, GRUTimer\)"
    ):
        Predictor.load("quant.models.examples.gru:Nope")


def test_a_file_model_pickles_by_reference():
    model = Predictor.load(GRU_FILE)(t=5)
    again = pickle.loads(pickle.dumps(model))
    assert again == model and type(again) is type(model)


def test_config_tables_choose_and_set_models():
    sample = preset("sample")
    config = SignalConfig.from_dict(
        {
            "cnn": {"patience": 2},
            "lstm": {"class": "quant.models.examples.gru:GRUTimer", "kwargs": {"hidden": 8}},
        },
        base=sample,
    )
    assert config.cnn == sample.cnn.replace({"patience": 2})  # settings change the preset's model
    assert config.lstm == GRUTimer(hidden=8)
    assert config.to_dict()["lstm"] == {
        "class": "quant.models.examples.gru:GRUTimer",
        "kwargs": GRUTimer(hidden=8).settings(),
    }
    assert SignalConfig.from_dict(config.to_dict()) == config
    assert SignalConfig.from_dict({"lstm": "lstm"}).lstm == LSTMTimer()
    with pytest.raises(ModelError, match="GRUPredictor is a predictor, not a timer"):
        SignalConfig.from_dict({"lstm": {"class": "quant.models.examples.gru:GRUPredictor"}})
    with pytest.raises(ModelError, match="a model table holds class"):
        SignalConfig.from_dict({"lstm": {"class": "lstm", "hidden": 8}})
    with pytest.raises(
        ModelError, match="unknown lstm setting\\(s\\) hiden \\(did you mean hidden"
    ):
        SignalConfig.from_dict({"lstm": {"hiden": 8}})


def test_a_strategy_config_with_a_bad_model_setting_is_a_one_line_config_error():
    # read with the strategy's parameters, before any data is loaded
    with pytest.raises(
        ConfigError, match="cnn_lstm: cnn: max_epochs = '5': input should be a valid integer"
    ):
        CnnLstm.Params.of({"preset": "sample", "cnn": {"max_epochs": "5"}}, name="cnn_lstm")
    with pytest.raises(ConfigError, match=r"cnn_lstm: lstm: dropout = -0\.2"):
        CnnLstm.Params.of({"preset": "sample", "lstm": {"dropout": -0.2}}, name="cnn_lstm")


def test_train_checks_the_window_shape():
    x = np.zeros((4, 31), dtype=np.float32)
    with pytest.raises(
        ModelError, match=r"cnn reads samples of shape \(32,\), the data gives \(31,\)"
    ):
        train(CNNRanker(max_epochs=1), (x, np.zeros(4, dtype=np.int64)), seed=0, progress=False)


def test_grids_skip_invalid_shapes_and_refuse_bad_values():
    grid = LSTM1DPredictor.grid({"L": [4, 6], "t": [4]}, alphas=[1])
    assert [(p.L, p.t) for p in grid] == [(4, 4)]  # t=4 does not divide L=6
    with pytest.raises(ModelError, match="the lstm1d grid is empty"):
        LSTM1DPredictor.grid({"L": [6], "t": [4]})
    with pytest.raises(ModelError, match="lstm: mem = -1"):
        LSTMPredictor.grid({"mem": [-1, 5]})
    assert [p.mem for p in GRUPredictor.grid({"t": [5]}, alphas=[1, 5])] == [4, 8]  # sqrt(7)+a


# -- a new model takes one file: the GRU example, run by the commands ----------------------
def quant(command: str) -> int:
    return main(shlex.split(command))


def test_predict_runs_the_example_from_its_file_in_parallel(market_csv, tmp_path):  # noqa: F811
    out = tmp_path / "run"
    code = quant(
        f"predict --data {market_csv} --codes 000538.SZ --models bp,{GRU_FILE} "
        "--train-days 250 --val-days 60 --test-days 100 --jobs 2 "
        f"--param gru.t=5 --param gru.epochs=2 --param bp.epochs=2 --out {out}"
    )
    assert code == 0
    runs = json.loads((out / "metrics.json").read_text())["runs"]
    gru = next(r for r in runs if r["model"] == "gru")
    assert gru["params"] == {
        "t": 5,
        "mem": 10,
        "lr": 0.003,
        "dropout": 0.1,
        "epochs": 2,
        "patience": 10,
        "batch_size": 32,
    }
    assert gru["test"]["direction"]["model"]["n"] > 90
    assert "| 000538.SZ | gru |" in (out / "report.md").read_text()


def test_tune_stores_the_example_and_predict_reads_it_back(market_csv, tmp_path, capsys):  # noqa: F811
    library = tmp_path / "lib.toml"
    module = "quant.models.examples.gru:GRUPredictor"
    code = quant(
        f"tune --data {market_csv} --codes 000538.SZ --models {module} {SMALL} "
        f"--grid gru.t=4 --grid gru.epochs=2 --alphas 1,5 --library {library}"
    )
    assert code == 0
    loaded = Library.load(library)
    assert loaded.models == {"gru": module}
    predictor, source = loaded.lookup("000538.SZ", GRUPredictor)
    assert source == "library" and predictor.t == 4 and predictor.mem in (4, 8)
    out = tmp_path / "run"
    assert (
        quant(
            f"predict --data {market_csv} --codes 000538.SZ --models {module} {SMALL} --library {library} --out {out}"
        )
        == 0
    )
    run = json.loads((out / "metrics.json").read_text())["runs"][0]
    assert run["info"]["params_source"] == "library" and run["params"]["mem"] == predictor.mem
    assert (
        quant(
            f"predict --data {market_csv} --codes 000538.SZ --models bp,{module} {SMALL} --param gru.mem=-3 --out {out}"
        )
        == 2
    )
    assert (
        "--param: gru: mem = -3: input should be greater than or equal to 1"
        in capsys.readouterr().err
    )


def test_the_example_times_the_cnn_lstm_signals(tmp_path):
    config = SignalConfig.from_dict(
        {"lstm": {"class": "quant.models.examples.gru:GRUTimer", "kwargs": {"hidden": 8}}},
        base=TINY,
    )
    tables = build_signals(PANEL, config, tmp_path, threads=1)
    timing = tables.timing
    assert len(timing) > 0 and set(timing["signal"]) <= {-1, 1}
    assert (timing["signal"] == np.where(timing["probability"] > 0.5, 1, -1)).all()
    assert tables.report["config"]["lstm"]["class"] == "quant.models.examples.gru:GRUTimer"
    default = build_signals(PANEL, TINY, tmp_path, threads=1)
    pd.testing.assert_frame_equal(tables.selection, default.selection)  # same ranker
    assert not np.allclose(timing["probability"], default.timing["probability"])


def test_the_readme_model_example_runs(market_csv, tmp_path):  # noqa: F811
    import re

    readme = (ROOT / "README.md").read_text()
    code = re.search(r"# my_models.py\n(.*?)```", readme, re.S).group(1)
    (tmp_path / "my_models.py").write_text(code)
    out = tmp_path / "run"
    spec = f"{tmp_path / 'my_models.py'}:Ridge"
    command = (
        f"predict --data {market_csv} --codes 000538.SZ --models lstm,{spec} {SMALL} "
        f"--param ridge.days=20 --param ridge.epochs=3 --param lstm.epochs=2 --out {out}"
    )
    assert quant(command) == 0
    ridge = next(
        r for r in json.loads((out / "metrics.json").read_text())["runs"] if r["model"] == "ridge"
    )
    assert ridge["params"]["days"] == 20 and ridge["test"]["direction"]["model"]["n"] > 90
