"""Model parameters and the "parameter combination library": a TOML file mapping a stock code
to the best parameters found for it by ``quant tune`` (on the validation span only), looked
up per code and model, falling back to the defaults for codes it does not hold.

File layout::

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
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path
from typing import Any

import pandas as pd
import tomli_w

from quant.io import write_text_atomic
from quant.models.predictors import MODELS

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib


@dataclass(frozen=True)
class Params:
    """Everything that defines one model's training on one stock. ``L``: closes per 1-D
    LSTM sample; ``t``: time nodes (1-D LSTM segments, multi-D LSTM days); ``mem``: LSTM
    memory size; ``hidden``: the BP network's two hidden sizes; ``epochs``: the most epochs
    (training stops after ``patience`` epochs without a better validation loss)."""

    L: int = 20
    t: int = 5
    mem: int = 6
    hidden: tuple[int, int] = (8, 8)
    lr: float = 3e-3
    dropout: float = 0.1
    epochs: int = 100
    patience: int = 10
    batch_size: int = 32

    def as_dict(self, model: str) -> dict[str, Any]:
        """The fields that matter for ``model``, TOML-ready."""
        values = asdict(self)
        values["hidden"] = list(self.hidden)
        return {k: values[k] for k in RELEVANT[model]}


COMMON = ("lr", "dropout", "epochs", "patience", "batch_size")
RELEVANT: dict[str, tuple[str, ...]] = {
    "bp": ("hidden", *COMMON),
    "lstm1d": ("L", "t", "mem", *COMMON),
    "lstm": ("t", "mem", *COMMON),
}
DEFAULTS: dict[str, Params] = {
    "bp": Params(hidden=(8, 8)),
    "lstm1d": Params(L=20, t=5, mem=6),
    "lstm": Params(t=20, mem=10),
}
FIELD_NAMES = {f.name for f in fields(Params)}


def make_params(
    model: str, values: dict[str, Any], base: Params | None = None, where: str = ""
) -> Params:
    """``base`` (the model's default) updated with ``values``; unknown names are errors."""
    if model not in MODELS:
        raise ValueError(f"{where}unknown model {model!r}: choose one of {', '.join(MODELS)}")
    unknown = sorted(set(values) - FIELD_NAMES)
    if unknown:
        raise ValueError(
            f"{where}unknown parameter(s) {', '.join(unknown)} for {model}; "
            f"known: {', '.join(sorted(FIELD_NAMES))}"
        )
    values = dict(values)
    if "hidden" in values:
        values["hidden"] = tuple(int(h) for h in values["hidden"])
    return replace(base or DEFAULTS[model], **values)


@dataclass
class Library:
    """The parsed library; ``path`` is where it came from (None: empty, defaults only)."""

    codes: dict[str, dict[str, dict[str, Any]]]
    scores: dict[str, dict[str, dict[str, Any]]]
    defaults: dict[str, dict[str, Any]]
    path: Path | None = None

    @classmethod
    def empty(cls) -> Library:
        return cls({}, {}, {})

    @classmethod
    def load(cls, path: str | Path) -> Library:
        path = Path(path)
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as error:
            raise ValueError(f"{path}: not valid TOML: {error}") from None
        unknown = sorted(set(data) - {"codes", "scores", "defaults"})
        if unknown:
            raise ValueError(f"{path}: unknown section(s) {', '.join(unknown)}")
        library = cls(data.get("codes", {}), data.get("scores", {}), data.get("defaults", {}), path)
        for model in library.defaults:  # fail now, naming the file, not in the middle of a run
            library.lookup("", model)
        for code, models in library.codes.items():
            for model in models:
                library.lookup(code, model)
        return library

    def lookup(self, code: str, model: str) -> tuple[Params, str]:
        """The parameters of ``code`` and ``model`` and where they came from ("library" or
        "defaults")."""
        where = f"{self.path}: " if self.path else ""
        base = make_params(model, self.defaults.get(model, {}), where=where)
        entry = self.codes.get(code, {}).get(model)
        if entry is None:
            return base, "defaults"
        return make_params(model, entry, base, where=f"{where}{code}: "), "library"

    def store(self, code: str, model: str, params: Params, score: dict[str, Any]) -> None:
        self.codes.setdefault(code, {})[model] = params.as_dict(model)
        self.scores.setdefault(code, {})[model] = score

    def save(self, path: str | Path, header: str = "") -> Path:
        data = {"defaults": self.defaults, "codes": self.codes, "scores": self.scores}
        body = tomli_w.dumps({k: v for k, v in data.items() if v})
        comment = "".join(f"# {line}\n" for line in header.splitlines())
        return write_text_atomic(path, comment + body)


def parse_value(key: str, text: str) -> Any:
    """A parameter value from the command line: ``hidden`` as ``8x8``, the others as the
    type of their default (int or float)."""
    if key not in FIELD_NAMES:
        raise ValueError(f"unknown parameter {key!r}; known: {', '.join(sorted(FIELD_NAMES))}")
    try:
        if key == "hidden":
            return tuple(int(part) for part in text.lower().split("x"))
        return type(getattr(Params(), key))(text)
    except ValueError:
        example = "8x8" if key == "hidden" else repr(getattr(Params(), key))
        raise ValueError(f"bad value {text!r} for {key} (e.g. {example})") from None


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
