"""What each strategy contributes to the reports, from the class the run names it by: its
own section (AShareStrategy.report_section) and its headline phrases
(AShareStrategy.evidence), both from its metrics.json entry. The report knows no strategy by
name."""

from __future__ import annotations

from typing import Any

from quant.engine.config import BacktestConfig
from quant.engine.plugins import load_strategy, strategy_name
from quant.engine.strategy import AShareStrategy
from quant.report.figures import seed_infos


def strategy_classes(config: BacktestConfig) -> dict[str, type[AShareStrategy]]:
    """The class of each strategy of the config, by the name the run calls it."""
    classes: dict[str, type[AShareStrategy]] = {}
    for spec in config.strategies:
        cls = load_strategy(spec)
        classes[strategy_name(spec, cls)] = cls
    return classes


def report_sections(
    config: BacktestConfig, strategies: dict[str, dict[str, Any]]
) -> dict[str, list[str]]:
    """Each strategy's own section of report.md (AShareStrategy.report_section of the class
    the config names it by; the base class's for a name the config does not hold), from
    its metrics.json entry."""
    classes = strategy_classes(config)
    return {
        name: classes.get(name, AShareStrategy).report_section(name, seed_infos(figures))
        for name, figures in strategies.items()
    }


def report_evidence(
    config: BacktestConfig, strategies: dict[str, dict[str, Any]]
) -> dict[str, list[str]]:
    """Each strategy's headline phrases (AShareStrategy.evidence), as :func:`report_sections`."""
    classes = strategy_classes(config)
    return {
        name: classes.get(name, AShareStrategy).evidence(seed_infos(figures))
        for name, figures in strategies.items()
    }
