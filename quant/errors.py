"""The one base class of mistakes a user can fix (bad data, config, names): the ``quant``
command prints their message in one line instead of a traceback."""


class UserError(Exception):
    """A mistake in the input, the command line or the config."""
