"""The one base of every model, and the one ``train`` that serves them all.

A model is a class whose fields are its settings: typed, frozen and checked by pydantic
(unknown keys, wrong types, values out of range or not finite are one-line errors naming
the model and the key). It says how to build its torch network (:meth:`Model.build`),
what one input sample is (:meth:`Model.window`), which loss trains it (:meth:`Model.loss`)
and which settings ``quant tune`` searches over (:meth:`Model.grid`). A task base
(:mod:`quant.models.tasks`: ranker, timer, predictor) fixes what the model reads and learns;
a model is chosen by a built-in name, ``package.module:Class``, ``path/to/file.py:Class`` or
a config table ``{class = "...", kwargs = {...}}``, found the way strategies are found
(:mod:`quant.plugins`). Shaped after qlib's ``Model`` and its ``{class, module_path,
kwargs}`` configs (qlib docs, "Integrate Custom Models into Qlib").
"""

from __future__ import annotations

import functools
import itertools
from abc import abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Annotated, Any, ClassVar

import numpy as np
from pydantic import BeforeValidator, Field
from torch import nn
from typing_extensions import Self

from quant.errors import UserError
from quant.models.training import Arrays, StepSize, TrainConfig, TrainResult, fit, seed_everything
from quant.plugins import PluginKind
from quant.settings import Settings


class ModelError(UserError, ValueError):
    """A model that cannot be found or set up; the message names the model and the key."""


def _tuple(value: Any) -> Any:
    """TOML and JSON give lists where the settings hold tuples."""
    return tuple(value) if isinstance(value, list) else value


# -- setting types shared by the models (each model sets its own default) -------------------
LearningRate = Annotated[
    float, Field(gt=0, le=1, description="Adam's learning rate: the size of each update step.")
]
BatchSize = Annotated[int, Field(ge=1, description="Samples per mini-batch.")]
Epochs = Annotated[
    int,
    Field(
        ge=1,
        description="The most passes over the training samples (early stopping may end sooner).",
    ),
]
Patience = Annotated[
    int,
    Field(
        ge=0,
        description="Epochs without a better validation loss before training stops "
        "(the best epoch's weights are kept); 0: no early stopping.",
    ),
]
WeightDecay = Annotated[
    float, Field(ge=0, description="L2 penalty on the weights (Adam's weight_decay).")
]
Dropout = Annotated[
    float, Field(ge=0, lt=1, description="Share of hidden activations set to 0 while training.")
]
#: A positive whole number (a layer size, a count of steps or samples): document it per field.
Size = Annotated[int, Field(ge=1)]
Sizes = Annotated[tuple[Size, Size], BeforeValidator(_tuple)]


@dataclass(frozen=True)
class Window:
    """What one input sample of a model reads: ``steps`` time steps of ``width`` consecutive
    rows each (days; for the ranker, one decision date), every row giving the feature
    columns ``columns`` of its task's inputs. The network takes it as a
    (steps, width x len(columns)) array, or, when ``flat``, as one vector of that many values."""

    columns: tuple[int, ...]
    steps: int = 1
    width: int = 1
    flat: bool = False

    @property
    def days(self) -> int:
        """Rows (trading days) one sample spans."""
        return self.steps * self.width

    @property
    def n_inputs(self) -> int:
        """Values per time step."""
        return self.width * len(self.columns)

    @property
    def shape(self) -> tuple[int, ...]:
        """The shape of one sample, without the batch axis."""
        return (self.steps * self.n_inputs,) if self.flat else (self.steps, self.n_inputs)


class Model(Settings):
    """Base of every model. Subclass a task base (:class:`quant.models.Ranker`,
    :class:`~quant.models.Timer` or :class:`~quant.models.Predictor`), declare the settings as
    typed fields with defaults and a docstring each, and implement :meth:`build` (and
    :meth:`window` where the task lets the model choose it). Configs and the command line
    read settings with :meth:`~quant.settings.Settings.of` and change them with
    :meth:`~quant.settings.Settings.replace` (one-line :class:`ModelError`);
    ``Model(**settings)`` in Python code raises pydantic's own ValidationError."""

    error = ModelError
    #: How configs, reports and ``--param NAME.KEY=VALUE`` call the model (default: the class
    #: name); unique among the models of a task.
    name: ClassVar[str] = ""
    #: The task, in messages ("ranker", "timer", "predictor").
    kind: ClassVar[str] = "model"
    #: Built-in models of the task: name -> ``module:Class``.
    builtins: ClassVar[dict[str, str]] = {}
    #: Default axes of the search grid: setting -> values.
    search_axes: ClassVar[dict[str, list[Any]]] = {}

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        super().__pydantic_init_subclass__(**kwargs)
        if "name" not in cls.__dict__:
            cls.name = cls.__name__

    # -- what a model is -------------------------------------------------------------------
    @abstractmethod
    def build(self) -> nn.Module:
        """A fresh network (weights drawn from torch's current random state) that maps a
        (batch, *window().shape) float tensor to the task's outputs."""

    @abstractmethod
    def window(self) -> Window:
        """What one input sample reads (its shape is checked by :func:`train`)."""

    @abstractmethod
    def loss(self) -> nn.Module:
        """The training loss, called as ``loss(outputs, targets)``."""

    def train_config(self, **overrides: Any) -> TrainConfig:
        """The loop's config: every setting the model shares with :class:`TrainConfig`
        (lr, batch_size, weight_decay, max_epochs, patience), then ``overrides``."""
        return TrainConfig.of(self, **overrides)

    # -- settings ----------------------------------------------------------------------------
    def settings(self) -> dict[str, Any]:
        """The settings, TOML-ready (tuples as lists): the model's own first (its
        architecture), then those its task base declares (the training budget)."""
        values = {k: list(v) if isinstance(v, tuple) else v for k, v in self.model_dump().items()}
        return {k: values[k] for k in self.own_settings() + self.shared_settings()}

    @classmethod
    def own_settings(cls) -> list[str]:
        """Settings the model class declares beyond its task base's."""
        return [k for k in cls.model_fields if k not in cls.shared_settings()]

    @classmethod
    def shared_settings(cls) -> list[str]:
        """Settings of the task base (the class that sets :attr:`kind`)."""
        task = next(c for c in cls.__mro__ if "kind" in c.__dict__)
        return list(task.model_fields)

    @classmethod
    def grid(
        cls, axes: Mapping[str, Sequence[Any]] | None = None, base: Self | None = None
    ) -> list[Self]:
        """Every point of the search grid: the product of :attr:`search_axes` updated with
        ``axes``, each over ``base`` (default: the model's defaults), in order, without
        repeats."""
        base = base if base is not None else cls()
        merged = {**cls.search_axes, **(axes or {})}
        points = [
            base.replace(dict(zip(merged, combination)))
            for combination in itertools.product(*merged.values())
            if cls.fits(dict(zip(merged, combination)), base)
        ]
        if not points:
            raise ModelError(f"the {cls.name} grid is empty: no valid combination of {merged}")
        return list(dict.fromkeys(points))

    @classmethod
    def fits(cls, changes: Mapping[str, Any], base: Model) -> bool:
        """Whether a grid combination is a valid shape (a grid skips the others)."""
        return True

    # -- finding a model -----------------------------------------------------------------------
    @classmethod
    def load(cls, spec: str) -> type[Self]:
        """The model class named ``spec``: a built-in name of the task, ``module:Class`` or
        ``path/to/file.py:Class``; a :class:`ModelError` naming it otherwise."""
        return _load_class(cls, spec)

    @classmethod
    def ref(cls) -> str:
        """What names this class in a config: its built-in name, the spec it was loaded by,
        or ``module:Class``."""
        target = _target(cls)
        builtin = [name for name, t in cls.builtins.items() if t == target]
        return builtin[0] if builtin else _LOADED_FROM.get(cls, target)

    @classmethod
    def from_config(
        cls, value: Any, *, base: Model | None = None, where: str = "", noun: str = "setting"
    ) -> Model:
        """A model of this task from a config value: a model; a name or spec (default
        settings); a table ``{class = SPEC, kwargs = {...}}``; or a table of settings that
        change ``base`` (the model the config had there)."""
        if isinstance(value, cls):
            return value
        named = _MODELS.named(value, where)
        if named is not None:
            spec, kwargs = named
            return cls.load(spec).of(kwargs, where=where, noun=noun)
        if isinstance(value, Mapping) and base is not None:
            return base.replace(value, where=where, noun=noun)
        raise ModelError(
            f"{where}expected a {cls.kind} name, a {{class, kwargs}} table or a table of "
            f"settings, got {value!r}"
        )

    def to_config(self) -> dict[str, Any]:
        """The ``{class, kwargs}`` table that :meth:`from_config` reads back."""
        return {"class": self.ref(), "kwargs": self.settings()}

    def __reduce__(self) -> tuple[Any, ...]:
        # by class reference and settings, so that a model loaded from a file reaches a
        # spawned worker (which loads the file again) instead of failing to import its module
        return _rebuild, (_LOADED_FROM.get(type(self), _target(type(self))), self.model_dump())


#: Every model class loaded by a spec, and that spec.
_LOADED_FROM: dict[type, str] = {}
_MODELS = PluginKind("model", "models", Model, "quant.models.Model", ModelError)


def _target(cls: type) -> str:
    return f"{cls.__module__}:{cls.__qualname__}"


@functools.cache
def _import(target: str) -> type[Model]:
    """The class of ``module:Class`` or ``file.py:Class``, loaded once per process (a file
    is not run again), so that every model of one spec shares one class."""
    cls = _MODELS.load(target, {})
    _LOADED_FROM.setdefault(cls, target)
    return cls


def _load_class(base: type[Model], spec: str) -> type[Model]:
    if spec not in base.builtins and ":" not in spec:
        raise ModelError(
            f"unknown {base.kind} {spec!r}: built-ins are {', '.join(base.builtins)}; "
            "a custom one is named module:Class or path/to/file.py:Class"
        )
    cls = _import(base.builtins.get(spec, spec))
    if not issubclass(cls, base):
        raise ModelError(
            f"{base.kind} {spec!r}: {cls.__name__} is a {cls.kind}, not a {base.kind} "
            f"(subclass quant.models.{base.__name__})"
        )
    return cls


def _rebuild(target: str, settings: dict[str, Any]) -> Model:
    return _import(target)(**settings)


# -- the one training entry point ---------------------------------------------------------------
def train(
    model: Model,
    data: Arrays,
    validation: Arrays | None = None,
    *,
    seed: int,
    device: str | None = None,
    progress: bool = True,
    desc: str | None = None,
    step_size: StepSize | None = None,
) -> tuple[nn.Module, TrainResult]:
    """A fresh network of ``model`` (weights drawn from ``seed``) trained by the one loop
    (:func:`quant.models.training.fit`) with the model's loss on (inputs, targets), early
    stopping on ``validation``. Inputs must be (n, *model.window().shape); a
    :class:`ModelError` naming the model and both shapes otherwise."""
    expected = model.window().shape
    got = tuple(np.shape(data[0])[1:])
    if got != expected:
        raise ModelError(f"{model.name} reads samples of shape {expected}, the data gives {got}")
    seed_everything(seed)
    network = model.build()
    config = model.train_config(
        seed=seed, device=device, progress=progress, desc=desc or model.name
    )
    return network, fit(network, data, model.loss(), config, validation, step_size)
