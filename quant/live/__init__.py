"""A paper book: a strategy followed one session at a time, with the backtest's own broker,
rules and strategy code, its state kept in a database between evenings (quant.live.book).

- :func:`init` starts a book (``quant live init --config C --book B``);
- :func:`next` books each session the data holds after the last one booked and writes the
  orders for the session after it (``quant live next --book B``; quant.live.evening);
- :func:`status` says where it stands, against the benchmark and against a backtest of the
  same sessions (``quant live status --book B``; quant.live.status).

README, "Following a strategy day by day".
"""

from quant.live.api import init, next, status
from quant.live.book import Book, BookError
from quant.live.status import Status

__all__ = ["Book", "BookError", "Status", "init", "next", "status"]
