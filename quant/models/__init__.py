"""Neural models of the platform: one base (:mod:`quant.models.base`), three tasks
(:mod:`quant.models.tasks`), one class per model, all trained by :func:`train`."""

from quant.models.base import Model, ModelError, Window, train
from quant.models.tasks import Predictor, Ranker, Timer

__all__ = ["Model", "ModelError", "Predictor", "Ranker", "Timer", "Window", "train"]
