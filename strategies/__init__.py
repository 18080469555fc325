"""Plug-in strategies. Built-ins are run by name; any other AShareStrategy subclass by
``module:Class`` or ``path/to/file.py:Class``."""

BUILTINS: dict[str, str] = {
    "benchmark": "strategies.benchmark:Benchmark",
    "momentum": "strategies.momentum:Momentum",
    "cnn_lstm": "strategies.cnn_lstm:CnnLstm",
    "ew_universe": "strategies.baselines:EqualWeightUniverse",
    "reversal": "strategies.baselines:Reversal",
}
