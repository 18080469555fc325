"""Plug-in strategies. Built-ins are run by name (registered as entry points of the group
``quant.strategies`` in pyproject.toml); any other AShareStrategy subclass by
``module:Class`` or ``path/to/file.py:Class``."""
