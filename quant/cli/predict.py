"""``quant predict`` and ``quant tune``: the next-day prediction study (BP, 1-D LSTM,
multi-dimensional LSTM, or any :class:`quant.models.Predictor` named module:Class or
path/to/file.py:Class) on any stocks or indices. See docs/prediction_study.md."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from quant.cli import UserError
from quant.study.parallel import default_jobs

if TYPE_CHECKING:  # the study's modules (torch) load when a command runs, not for --help
    from quant.models import Predictor
    from quant.study.pipeline import RunResult, Settings
    from quant.study.series import StockSeries

DEFAULT_LIBRARY = Path("configs/param_library.toml")


def register(commands: argparse._SubParsersAction) -> None:
    predict = commands.add_parser(
        "predict",
        help="next-day close prediction study: BP, 1-D LSTM, multi-D LSTM",
        description="Train each model on each code (train/validation/test in time order) "
        "and write metrics.json, report.md and one plot per code to --out.",
    )
    _common(predict)
    predict.add_argument(
        "--wavelet",
        default="none",
        help="comma list of none, causal, leaky (leaky LEAKS THE FUTURE: for comparison only)",
    )
    predict.add_argument("--step", default="adam", help="comma list of adam, loss")
    predict.add_argument(
        "--library", type=Path, help="parameter library (TOML) to look codes up in"
    )
    predict.add_argument(
        "--param",
        action="append",
        default=[],
        metavar="MODEL.KEY=VALUE",
        help="override a parameter for every code, e.g. lstm.t=60 or bp.hidden=8x8 (repeatable)",
    )
    predict.add_argument("--out", type=Path, required=True, help="output folder")
    predict.set_defaults(run=run_predict, parser=predict)

    tune = commands.add_parser(
        "tune",
        help="grid search on the validation span; writes the parameter library",
        description="Train every grid point on every code, pick the best per code and model "
        "on the validation span (never the test span) and store it in --library.",
    )
    _common(tune)
    tune.add_argument("--wavelet", default="none", choices=("none", "causal"))
    tune.add_argument("--step", default="adam", help="adam or loss")
    tune.add_argument(
        "--library",
        type=Path,
        default=DEFAULT_LIBRARY,
        help="library to update (created if missing)",
    )
    tune.add_argument(
        "--grid",
        action="append",
        default=[],
        metavar="MODEL.KEY=V1,V2",
        help="grid axis, e.g. lstm1d.L=10,20,40 lstm1d.t=2,5,10 lstm.t=10,20 (repeatable; "
        "mem/hidden come from the rule m = sqrt(n + l) + alpha unless given)",
    )
    tune.add_argument(
        "--alphas", default="1-10", help="alphas of the hidden-size rule: 1-10 or 1,4,7"
    )
    tune.add_argument("--criterion", default="accuracy", help="accuracy or mse")
    tune.add_argument(
        "--show-test",
        action="store_true",
        help="also report each grid point's test scores (for reading only; never used to choose)",
    )
    tune.add_argument("--out", type=Path, help="folder for grid.json and grid.md")
    tune.set_defaults(run=run_tune, parser=tune)


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--data",
        action="append",
        help="tidy bars: 'sample', a Parquet/CSV file or folder; stocks or indices "
        "(repeatable; default: sample)",
    )
    parser.add_argument(
        "--index-data",
        action="append",
        default=[],
        help="index bars, e.g. ../shared/data/ashare_index_2010_2017.parquet (repeatable)",
    )
    parser.add_argument("--codes", required=True, help="comma list, e.g. 000538.SZ,000536.SZ")
    parser.add_argument(
        "--models",
        help="comma list of bp, lstm1d, lstm (default: all three) or a custom predictor as module:Class or "
        "path/to/file.py:Class (its name is the MODEL of --param/--grid)",
    )
    parser.add_argument(
        "--train-days", type=int, default=1400, help="training days, validation included"
    )
    parser.add_argument(
        "--val-days", type=int, default=200, help="last training days used for validation"
    )
    parser.add_argument(
        "--test-days", type=int, default=250, help="test days at the end of each series"
    )
    parser.add_argument(
        "--scale",
        choices=("relative", "level"),
        default="relative",
        help="relative: log changes against the last close (default); "
        "level: log price levels (the paper's set-up)",
    )
    parser.add_argument("--wavelet-window", type=int, default=64, help="causal denoising window")
    parser.add_argument("--alpha", type=float, default=0.1, help="alpha of the loss-dependent step")
    parser.add_argument("--threshold", type=float, default=0.01, help="|predicted change| filter")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--jobs", type=int, default=default_jobs(), help="parallel processes")


def _csv(text: str, allowed: tuple[str, ...] | None = None, what: str = "value") -> list[str]:
    items = [item.strip() for item in text.split(",") if item.strip()]
    if not items:
        raise UserError(f"no {what} given")
    if allowed is not None:
        unknown = [item for item in items if item not in allowed]
        if unknown:
            raise UserError(
                f"unknown {what} {', '.join(unknown)}: choose from {', '.join(allowed)}"
            )
    return list(dict.fromkeys(items))


def _one(text: str, allowed: tuple[str, ...], option: str) -> str:
    if text not in allowed:
        raise UserError(f"{option} {text!r}: choose one of {', '.join(allowed)}")
    return text


def _alphas(text: str) -> list[int]:
    try:
        if "-" in text:
            low, high = (int(part) for part in text.split("-"))
            return list(range(low, high + 1))
        return [int(part) for part in _csv(text, what="alpha")]
    except ValueError:
        raise UserError(f"bad --alphas {text!r}: use 1-10 or 1,4,7,10") from None


def _models(text: str | None) -> dict[str, type[Predictor]]:
    """The predictors of ``--models`` by name: built-in names or custom classes (None: the
    built-ins)."""
    from quant.models import Predictor

    items = _csv(text or ",".join(Predictor.builtins), what="model")
    unknown = [item for item in items if ":" not in item and item not in Predictor.builtins]
    if unknown:
        raise UserError(
            f"unknown model {', '.join(unknown)}: choose from {', '.join(Predictor.builtins)}, "
            "or name a custom predictor module:Class or path/to/file.py:Class"
        )
    models: dict[str, type[Predictor]] = {}
    for item in items:
        cls = Predictor.load(item)
        if cls.name in models:
            raise UserError(f"two models called {cls.name} in --models {text}")
        models[cls.name] = cls
    return models


def _assignment(text: str, option: str, models: dict[str, type[Predictor]]) -> tuple[str, str, str]:
    """MODEL.KEY=VALUE -> (model name, key, value text), for a model of the run."""
    target, _, value = text.partition("=")
    model, _, key = target.partition(".")
    if not value or model not in models or not key:
        raise UserError(
            f"bad {option} {text!r}: use MODEL.KEY=VALUE with MODEL one of {', '.join(models)}"
        )
    return model, key.strip(), value.strip()


def _settings(args: argparse.Namespace, wavelet: str, step: str) -> Settings:
    from quant.study.pipeline import Settings

    try:
        return Settings(
            train_days=args.train_days,
            val_days=args.val_days,
            test_days=args.test_days,
            wavelet=wavelet,  # type: ignore[arg-type]
            wavelet_window=args.wavelet_window,
            relative=args.scale == "relative",
            step=step,
            alpha=args.alpha,
            threshold=args.threshold,
            seed=args.seed,
        )
    except ValueError as error:
        raise UserError(str(error)) from None


def _series(args: argparse.Namespace) -> dict[str, StockSeries]:
    from quant.study.series import load_series

    sources = [*(args.data or ["sample"]), *args.index_data]
    return load_series(sources, _csv(args.codes, what="code"))


def command_line(args: argparse.Namespace) -> str:
    """The command that reproduces this run: every option that differs from its default."""
    parts = ["quant", args.command]
    for action in args.parser._actions:
        if not action.option_strings or action.dest == "help":
            continue
        value = getattr(args, action.dest)
        if value == action.default or value is None:
            continue
        option = action.option_strings[-1]
        if isinstance(action, argparse._StoreTrueAction):
            parts.append(option)
        else:
            for item in value if isinstance(value, list) else [value]:
                parts += [option, str(item)]
    return " ".join(parts)


def _guard(work: Callable[[], Any]) -> Any:
    """Mistakes found deep in a run (a series too short for its window, a bad library
    entry) are the user's to fix: one line, no traceback."""
    try:
        return work()
    except ValueError as error:
        raise UserError(str(error)) from None


def run_predict(args: argparse.Namespace) -> int:
    from quant.denoise import MODES
    from quant.study.library import Library, chosen_before, parse_value
    from quant.study.parallel import run_all
    from quant.study.pipeline import STEPS, check_task, run_task, split_rows
    from quant.study.report import write_report

    # every setting is read and checked before the data loads: the models, their library
    # entries and --param changes (per code), the variants' settings
    models = _models(args.models)
    wavelets = _csv(args.wavelet, MODES, "wavelet mode")
    steps = _csv(args.step, STEPS, "step")
    variants = [_settings(args, wavelet, step) for wavelet in wavelets for step in steps]
    library = _guard(lambda: Library.load(args.library)) if args.library else Library.empty()
    overrides: dict[str, dict[str, Any]] = {}
    for text in args.param:
        name, key, value = _assignment(text, "--param", models)
        overrides.setdefault(name, {})[key] = _guard(lambda k=key, v=value: parse_value(k, v))
    chosen = []  # (code, predictor, where its settings came from)
    for code in _csv(args.codes, what="code"):
        for name, model in models.items():
            predictor, source = _guard(lambda c=code, m=model: library.lookup(c, m))
            if name in overrides:
                predictor = predictor.replace(overrides[name], where="--param: ", noun="parameter")
                source += " + --param"
            chosen.append((code, predictor, source))
    series = _series(args)

    tasks, sources = [], []
    for code, predictor, source in chosen:
        for settings in variants:
            tasks.append((series[code], predictor, settings))
            sources.append(source)
    for task, source in zip(tasks, sources):
        _guard(lambda t=task: check_task(t))
        if source.startswith("library"):
            series_, predictor, settings = task
            first_test = series_.dates[split_rows(series_, settings).test.start]
            _guard(
                lambda s=series_, n=predictor.name, f=first_test: chosen_before(
                    library, s.code, n, f
                )
            )
    results: list[RunResult] = _guard(lambda: run_all(run_task, tasks, args.jobs, desc="trainings"))
    for result, source in zip(results, sources):
        result.info["params_source"] = source
    command = command_line(args)
    config = {
        k: (str(v) if isinstance(v, Path) else v)
        for k, v in vars(args).items()
        if k not in ("run", "parser")
    } | {"models": args.models or ",".join(models)}
    write_report(args.out, results, config, command)
    for r in results:
        print(
            f"{r.code} {r.model:6s} wavelet={r.settings.wavelet:6s} step={r.settings.step:4s} "
            f"{_short(r)}"
        )
    print(f"wrote {args.out / 'report.md'}, {args.out / 'metrics.json'} and the plots")
    return 0


def _short(result: RunResult) -> str:
    from quant.study.scores import direction_block

    block = direction_block(result.test, result.training_changes)
    return f"test direction accuracy {block['model']} vs always-up {block['always_up'].value:.3f}"


def run_tune(args: argparse.Namespace) -> int:
    from quant.study.library import Library, parse_value
    from quant.study.pipeline import STEPS
    from quant.study.report import write_grid_report
    from quant.study.tune import CRITERIA, run_grid, update_library

    step = _one(args.step, STEPS, "--step")
    criterion = _one(args.criterion, CRITERIA, "--criterion")
    models = _models(args.models)
    axes: dict[str, dict[str, list[Any]]] = {name: {} for name in models}
    for text in args.grid:
        name, key, values = _assignment(text, "--grid", models)
        axes[name][key] = [_guard(lambda k=key, v=v: parse_value(k, v)) for v in values.split(",")]
    alphas = _alphas(args.alphas)
    grids: dict[str, list[Predictor]] = {
        name: model.grid(axes[name], alphas=alphas) for name, model in models.items()
    }
    settings = _settings(args, args.wavelet, step)
    library = (
        _guard(lambda: Library.load(args.library)) if args.library.exists() else Library.empty()
    )
    series = _series(args)  # every setting above is checked before the data loads
    rows = _guard(lambda: run_grid(series, grids, settings, args.jobs))

    best = update_library(library, rows, criterion)
    command = command_line(args)
    library.save(args.library, header=f"parameter combination library, updated by:\n{command}")
    if args.out:
        write_grid_report(args.out, rows, best, criterion, args.show_test, command)
    for (code, model), row in best.items():
        accuracy = row.val["direction"]["model"]
        print(
            f"{code} {model}: {row.result.predictor.settings()} "
            f"val accuracy {accuracy['accuracy']:.3f} (n={accuracy['n']})"
        )
    print(f"updated {args.library}" + (f"; grid in {args.out / 'grid.md'}" if args.out else ""))
    return 0
