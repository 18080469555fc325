"""The "parameter combination library": a TOML file mapping a stock code to the best
parameters (a predictor's settings) found for it by ``quant tune`` (on the validation span
only), looked up per code and model, falling back to the defaults for codes it does not hold.

File layout::

    [models]                   # custom predictors only: name = "module:Class" or "file.py:Class"
    gru = "quant.models.examples.gru:GRUPredictor"
    [defaults.lstm]            # optional: overrides the built-in defaults for every code
    mem = 8
    [codes."000538.SZ".lstm1d] # the parameters of one code and model
    L = 20
    t = 5
    mem = 6
    ...
    [scores."000538.SZ".lstm1d] # how they were chosen (validation scores, grid size, ...)
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import tomli_w

from quant.io import write_text_atomic
from quant.models import ModelError, Predictor
from quant.settings import read_toml

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib


@dataclass
class Library:
    """The parsed library; ``path`` is where it came from (None: empty, defaults only);
    ``models`` names the class of each custom predictor it holds entries of."""

    codes: dict[str, dict[str, dict[str, Any]]]
    scores: dict[str, dict[str, dict[str, Any]]]
    defaults: dict[str, dict[str, Any]]
    models: dict[str, str] = field(default_factory=dict)
    path: Path | None = None

    @classmethod
    def empty(cls) -> Library:
        return cls({}, {}, {})

    @classmethod
    def load(cls, path: str | Path) -> Library:
        path = Path(path)
        data, _ = read_toml(path, ValueError, "library file")
        unknown = sorted(set(data) - {"models", "codes", "scores", "defaults"})
        if unknown:
            raise ValueError(f"{path}: unknown section(s) {', '.join(unknown)}")
        for name, ref in data.get("models", {}).items():
            if not isinstance(ref, str):
                raise ValueError(f"{path}: [models] {name} must be a module:Class text")
        library = cls(
            data.get("codes", {}),
            data.get("scores", {}),
            data.get("defaults", {}),
            data.get("models", {}),
            path,
        )
        for model in library.defaults:  # fail now, naming the file, not in the middle of a run
            library.lookup("", library.predictor(model))
        for code, models in library.codes.items():
            for model in models:
                library.lookup(code, library.predictor(model))
        return library

    @property
    def _where(self) -> str:
        return f"{self.path}: " if self.path else ""

    def predictor(self, name: str) -> type[Predictor]:
        """The class of the entries named ``name``: a built-in, or the class ``[models]``
        names."""
        try:
            cls = Predictor.load(self.models.get(name, name))
        except ModelError as error:
            raise ModelError(f"{self._where}{error}") from None
        if cls.name != name:
            raise ModelError(f"{self._where}[models] {name} names a model called {cls.name}")
        return cls

    def lookup(self, code: str, model: type[Predictor]) -> tuple[Predictor, str]:
        """The predictor of ``code`` and where its settings came from ("library" or
        "defaults")."""
        where = self._where
        base = model.of(self.defaults.get(model.name, {}), where=where, noun="parameter")
        entry = self.codes.get(code, {}).get(model.name)
        if entry is None:
            return base, "defaults"
        return base.replace(entry, where=f"{where}{code}: ", noun="parameter"), "library"

    def store(self, code: str, predictor: Predictor, score: dict[str, Any]) -> None:
        name = predictor.name
        self.codes.setdefault(code, {})[name] = predictor.settings()
        self.scores.setdefault(code, {})[name] = score
        if predictor.ref() != name:  # a custom model: the library says where its class is
            self.models[name] = predictor.ref()

    def save(self, path: str | Path, header: str = "") -> Path:
        data = {
            "models": self.models,
            "defaults": self.defaults,
            "codes": self.codes,
            "scores": self.scores,
        }
        body = tomli_w.dumps({k: v for k, v in data.items() if v})
        comment = "".join(f"# {line}\n" for line in header.splitlines())
        return write_text_atomic(path, comment + body)


def parse_value(key: str, text: str) -> Any:
    """A setting's value from the command line: a pair of sizes as ``8x8``, otherwise a TOML
    value (``20``, ``0.01``, ``true``); the model then checks its type and range."""
    try:
        if "x" in text.lower():
            return tuple(int(part) for part in text.lower().split("x"))
        return tomllib.loads(f"value = {text}")["value"]
    except ValueError:
        raise ValueError(f"bad value {text!r} for {key} (e.g. 8x8, 20 or 0.01)") from None


def chosen_before(library: Library, code: str, model: str, first_test: pd.Timestamp) -> None:
    """Refuse library parameters chosen on validation days that reach into the test span
    of this run (a longer --test-days, other data): choosing on the test span is look-ahead
    in the selection of the model."""
    chosen = library.scores.get(code, {}).get(model, {}).get("val_dates")
    if chosen and pd.Timestamp(chosen[1]) >= first_test:
        raise ValueError(
            f"{code} {model}: the library's parameters were chosen on validation days up to "
            f"{chosen[1]}, inside this run's test span (from {first_test.date()}); tune again "
            "on an earlier span, or run without --library"
        )
