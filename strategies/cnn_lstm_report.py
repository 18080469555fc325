"""The CNN-LSTM's own part of report.md (CnnLstm.report_section): the walk-forward models'
quality on the test span and their training, read from the info the built-in source
(quant.signals.WalkForward) puts in each seed's plan (``quality``, ``training``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd

from quant.metrics.accuracy import Accuracy
from quant.report import markdown_table

#: The info keys this section shows (the rest is the strategy's settings).
SHOWN = ("quality", "training", "models")
RANKER_FIGURES = ("top_return", "decile_return", "all_return", "ic_mean", "ic_t")


def model_quality_section(infos: Mapping[str, Mapping[str, Any]]) -> list[str]:
    """Markdown lines: the ranker's and the timer's test-span quality per seed (and pooled
    over seeds), then the training of each walk-forward block; nothing when no seed's info
    holds the walk-forward source's quality (another source's tables)."""
    infos = {seed: info for seed, info in infos.items() if _walk_forward(info)}
    if not infos:
        return []
    models = next(iter(infos.values())).get("models", {})
    ranker, timer = models.get("ranker", "ranker"), models.get("timer", "timer")
    return [
        "### Model quality on the test span",
        "",
        f"Ranker ({ranker}): mean monthly return (next month, after the decision date's close, no "
        "costs) of the top 1 %, the top decile and all scored stocks, and the monthly rank "
        "IC (Spearman, score vs next-month return) with its t-statistic.",
        "",
        markdown_table(ranker_frame(infos)),
        "",
        f"Timer ({timer}): direction accuracy of the 5-day call with its count and 95 % Wilson "
        "interval, beside the always-up and always-down baselines on the same days (the "
        "better of the two is the share of the majority direction: the bar to clear); on "
        "the strategy's own timing rows (selected stocks) and on a sample pooled over all "
        "stocks.",
        "",
        markdown_table(timer_frame(infos)),
        "",
        "### Training",
        "",
        "Walk-forward blocks; samples = training + validation; seconds of CPU wall time.",
        "",
        markdown_table(training_frame(infos)),
        "",
    ]


def signals_evidence(infos: Mapping[str, Mapping[str, Any]]) -> list[str]:
    """The headline's phrases: the source and the model classes that ran (from the first
    seed's info), then the timer's direction accuracy on the strategy's own calls, pooled
    over the seeds, against always-up and always-down on the same days (where the
    walk-forward source recorded it)."""
    info = next(iter(infos.values()), {})
    models = info.get("models", {})
    ran = f"signals {info.get('signals', '?')}"
    if models:
        ran += ": " + ", ".join(f"{role} {cls}" for role, cls in models.items())
    phrases = [ran]
    pooled = [Accuracy(0, 0)] * 3
    for seed_info in infos.values():
        if _walk_forward(seed_info):
            q = seed_info["quality"]["lstm"]["timing"]
            scores = (Accuracy.from_dict(f) for f in (q, q["always_up"], q["always_down"]))
            pooled = [Accuracy(t.hits + a.hits, t.n + a.n) for t, a in zip(pooled, scores)]
    model, up, down = pooled
    if model.n:
        phrases.append(
            f"timer {models.get('timer', '')}".rstrip() + ": " + _verdict(model, up, down)
        )
    return phrases


def _verdict(model: Accuracy, up: Accuracy, down: Accuracy) -> str:
    best_name, best = ("always-up", up) if up.value >= down.value else ("always-down", down)
    low, high = model.interval
    if low > best.value:
        verdict = f"above {best_name}"
    elif high < best.value:
        verdict = f"below {best_name}: it does not time"
    else:
        verdict = f"not distinguishable from {best_name}"
    return (
        f"accuracy {model.value:.3f} [{low:.3f}, {high:.3f}] over {model.n:,} calls, "
        f"always-up {up.value:.3f}, always-down {down.value:.3f}: {verdict}"
    )


def ranker_frame(infos: Mapping[str, Mapping[str, Any]]) -> pd.DataFrame:
    """One row per seed (and their mean when there are several)."""
    cnn = {seed: info["quality"]["cnn"] for seed, info in infos.items()}
    rows = [
        [seed, str(q["months"]), *(_signed(q[k], k) for k in RANKER_FIGURES)]
        for seed, q in cnn.items()
    ]
    if len(cnn) > 1:
        mean = {k: sum(q[k] for q in cnn.values()) / len(cnn) for k in RANKER_FIGURES}
        rows.append(["mean", "", *(_signed(mean[k], k) for k in RANKER_FIGURES)])
    columns = ["seed", "months", "top 1 %", "top decile", "all stocks", "rank IC", "IC t"]
    return pd.DataFrame(rows, columns=columns)


def timer_frame(infos: Mapping[str, Mapping[str, Any]]) -> pd.DataFrame:
    """One row per seed and sample (``timing``, ``pooled``), and per sample pooled over the
    seeds when there are several (hits added up, so the interval is the pooled count's)."""
    rows, pooled = [], {}
    for seed, info in infos.items():
        for sample, q in info["quality"]["lstm"].items():
            model, up, down = (Accuracy.from_dict(f) for f in (q, q["always_up"], q["always_down"]))
            rows.append(
                [seed, sample, _interval(model), f"{model.n:,}", _interval(up), _interval(down),
                 f"{q['predicted_up_share']:.2f}"]
            )  # fmt: skip
            total = pooled.setdefault(sample, [Accuracy(0, 0)] * 3)
            pooled[sample] = [
                Accuracy(t.hits + a.hits, t.n + a.n)
                for t, a in zip(total, (model, up, down), strict=True)
            ]
    if len(infos) > 1:
        for sample, (model, up, down) in pooled.items():
            rows.append(
                ["all seeds", sample, _interval(model), f"{model.n:,}", _interval(up),
                 _interval(down), ""]
            )  # fmt: skip
    columns = ["seed", "sample", "accuracy [95 % CI]", "n", "always up [95 % CI]",
               "always down [95 % CI]", "predicted up"]  # fmt: skip
    return pd.DataFrame(rows, columns=columns)


def training_frame(infos: Mapping[str, Mapping[str, Any]]) -> pd.DataFrame:
    """One row per seed and walk-forward block."""
    rows = [
        [
            seed,
            block["block"],
            f"{block['cnn']['train']:,} + {block['cnn']['validation']:,}",
            f"{block['cnn']['epochs_run']} ({block['cnn']['best_epoch']})",
            f"{block['cnn']['seconds']:.0f}",
            f"{block['lstm']['train']:,} + {block['lstm']['validation']:,}",
            f"{block['lstm']['epochs_run']} ({block['lstm']['best_epoch']})",
            f"{block['lstm']['seconds']:.0f}",
        ]
        for seed, info in infos.items()
        for block in info["training"]
    ]
    columns = ["seed", "block", "ranker samples", "ranker epochs (best)", "ranker s",
               "timer windows", "timer epochs (best)", "timer s"]  # fmt: skip
    return pd.DataFrame(rows, columns=columns)


def _walk_forward(info: Mapping[str, Any]) -> bool:
    quality = info.get("quality")
    return isinstance(quality, Mapping) and {"cnn", "lstm"} <= set(quality) and "training" in info


def _interval(score: Accuracy) -> str:
    low, high = score.interval
    return f"{score.value:.3f} [{low:.3f}, {high:.3f}]"


def _signed(value: float, key: str) -> str:
    return f"{value:+.2f}" if key == "ic_t" else f"{value:+.4f}"
