"""The on-disk store of downloaded bars: one Parquet file per code plus a manifest.

Layout of a store folder (it loads like any folder of tidy files, ``load_bars(DIR)``)::

    DIR/manifest.json         what is there, up to which date, which codes came back empty
    DIR/000001.SZ.parquet     one code's bars in the tidy schema (stocks with adj_factor)
    DIR/.lock                 held while a fetch runs (one fetch per store at a time)

Every file is written under a temporary name and renamed (:mod:`quant.io`), and the
manifest is rewritten after each code, so a fetch killed at any moment leaves complete
files only; the next fetch asks for what is missing and nothing else. Requests go out one
at a time through a :class:`Throttle` (a pause between requests, retries with exponential
backoff on connection errors, :class:`BlockedError` when the server keeps refusing).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import itertools
import json
import logging
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from quant.data.akshare_source import Akshare, connection_errors
from quant.data.validate import DataError
from quant.errors import UserError
from quant.io import atomic_folder, write_atomic, write_text_atomic

log = logging.getLogger(__name__)

MANIFEST = "manifest.json"
FORMAT = 1
KINDS = ("stocks", "index")
#: Seconds between two requests. East Money blocks an IP after tens of rapid requests.
DEFAULT_PAUSE = 1.5
DEFAULT_RETRIES = 4
#: First wait after a connection error; it doubles on each further try (5, 10, 20, 40 s).
DEFAULT_BACKOFF = 5.0
EXCHANGE_TZ = ZoneInfo("Asia/Shanghai")
#: A day's bar is final once the market has closed (15:00) and the data has settled.
DAY_FINAL_AT = dt.time(16, 0)


class BlockedError(UserError):
    """The server refused every try: most likely it has blocked this IP for a while (the
    user can wait and resume, so the command prints the message, not a traceback)."""


@dataclass
class Throttle:
    """Makes one request at a time: waits ``pause`` seconds after the previous request,
    retries connection errors after ``backoff``, ``2 x backoff``, ... seconds, and raises
    :class:`BlockedError` when ``retries`` retries have failed too. ``sleep`` and ``clock``
    are injectable so that tests do not wait."""

    pause: float = DEFAULT_PAUSE
    retries: int = DEFAULT_RETRIES
    backoff: float = DEFAULT_BACKOFF
    retry_on: tuple[type[BaseException], ...] = field(default_factory=connection_errors)
    sleep: Callable[[float], None] = time.sleep
    clock: Callable[[], float] = time.monotonic
    requests: int = 0
    _last: float | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if self.pause < 0 or self.retries < 0 or self.backoff < 0:
            raise ValueError("pause, retries and backoff must not be negative")

    def __call__(self, function: Callable[..., Any], **kwargs: Any) -> Any:
        name = _call_name(function, kwargs)
        for attempt in range(self.retries + 1):
            self._wait()
            try:
                self.requests += 1
                return function(**kwargs)
            except self.retry_on as error:
                failure = error
            finally:
                self._last = self.clock()
            if attempt < self.retries:
                delay = self.backoff * 2**attempt
                log.warning("%s: %s; retry %d/%d in %.0f s", name, failure, attempt + 1,
                            self.retries, delay)  # fmt: skip
                self.sleep(delay)
        raise BlockedError(
            f"{name}: no answer after {self.retries + 1} tries ({failure}). The server keeps "
            "closing the connection: East Money blocks IPs that send rapid requests, "
            "typically for a few hours. Wait, or change network, then run the same command "
            "again: the store resumes where it stopped. Use a longer --pause to avoid it."
        )

    def _wait(self) -> None:
        if self._last is not None:
            remaining = self.pause - (self.clock() - self._last)
            if remaining > 0:
                self.sleep(remaining)


def _call_name(function: Callable[..., Any], kwargs: dict[str, Any]) -> str:
    arguments = ", ".join(f"{k}={v!r}" for k, v in kwargs.items())
    return f"{getattr(function, '__name__', 'request')}({arguments})"


def last_complete_day(now: dt.datetime | None = None) -> dt.date:
    """The latest day whose bar is final: today after 16:00 Beijing time, else yesterday
    (a fetch during the session would otherwise store a half-day bar as if it were final)."""
    now = (now or dt.datetime.now(EXCHANGE_TZ)).astimezone(EXCHANGE_TZ)
    return now.date() if now.time() >= DAY_FINAL_AT else now.date() - dt.timedelta(days=1)


# -- the manifest ------------------------------------------------------------------------


def read_manifest(root: str | Path) -> dict[str, Any] | None:
    """The manifest of a store (or a synthetic market) folder; None if there is none."""
    path = Path(root) / MANIFEST
    if not path.is_file():
        return None
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise DataError(f"{path}: not a readable manifest ({error})") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise DataError(f"{path}: not a manifest of format {FORMAT}")
    return manifest


def survivorship(manifest: dict[str, Any]) -> dict[str, Any]:
    """What a store's manifest says about survivor bias.

    akshare has no history for most delisted stocks (akshare issues #4318, #5288): such
    codes come back empty, and a universe without them only holds the survivors. Biased
    when codes came back empty, or when delisted codes (known from an ``--all`` fetch) have
    no bars; unknown (None) when the codes were chosen by hand and none came back empty.
    """
    codes = manifest.get("codes", {})
    empty = sorted(code for code, entry in codes.items() if entry["rows"] == 0)
    out: dict[str, Any] = {"empty_codes": len(empty), "empty_examples": empty[:5]}
    universe = manifest.get("universe")
    biased: bool | None = bool(empty) or None
    if universe is not None:
        delisted = set(universe["delisted"])
        with_bars = {code for code, entry in codes.items() if entry["rows"] > 0}
        out["delisted_codes"] = len(delisted)
        out["delisted_with_bars"] = len(delisted & with_bars)
        biased = bool(empty) or len(delisted - with_bars) > 0
    out["survivor_biased"] = biased
    return out


# -- imported stores ---------------------------------------------------------------------


def write_imported(
    bars: pd.DataFrame, root: str | Path, *, kind: str, imported: dict[str, Any]
) -> Path:
    """Write validated tidy bars (sorted by code, date) as a store of one Parquet file per
    code plus a manifest whose ``source`` is ``import:<layout>`` and whose ``imported``
    says from what (``imported``: format, from, options). The folder is built under a
    temporary name and renamed when complete, so it exists whole or not at all; ``root``
    must be new or an empty folder (FileExistsError otherwise). ``quant data fetch``
    refuses such a folder (a fetch would mix sources)."""
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}")
    codes = bars["code"].astype(str).to_numpy()
    bounds = [0, *(np.flatnonzero(codes[1:] != codes[:-1]) + 1), len(bars)]
    entries: dict[str, Any] = {}
    with atomic_folder(root) as folder:
        for start, end in itertools.pairwise(bounds):
            part = bars.iloc[start:end].assign(code=codes[start:end])
            part.to_parquet(folder / f"{codes[start]}.parquet", index=False)
            entries[codes[start]] = {
                "rows": int(end - start),
                "first_date": part["date"].iloc[0].date().isoformat(),
                "last_date": part["date"].iloc[-1].date().isoformat(),
            }
        manifest = {
            "format": FORMAT,
            "kind": kind,
            "source": f"import:{imported['format']}",
            "imported": {
                **imported,
                "at": dt.datetime.now(EXCHANGE_TZ).isoformat(timespec="seconds"),
            },
            "codes": entries,
        }
        text = json.dumps(manifest, indent=1, ensure_ascii=False, sort_keys=True)
        (folder / MANIFEST).write_text(text + "\n", encoding="utf-8")
    return Path(root)


# -- the store ---------------------------------------------------------------------------


@dataclass
class FetchReport:
    requested: int = 0
    up_to_date: int = 0
    fetched: int = 0
    empty: int = 0
    new_rows: int = 0
    requests: int = 0


class Store:
    """A folder of per-code Parquet files of one kind ('stocks' or 'index') and its
    manifest. Create with :meth:`open`."""

    def __init__(self, root: Path, manifest: dict[str, Any]):
        self.root = root
        self.manifest = manifest

    @classmethod
    def open(cls, root: str | Path, kind: str) -> Store:
        if kind not in KINDS:
            raise ValueError(f"kind must be one of {KINDS}")
        root = Path(root)
        if root.exists() and not root.is_dir():
            raise DataError(f"{root}: not a folder")
        manifest = read_manifest(root)
        if manifest is None:
            if root.is_dir() and any(p.suffix == ".parquet" for p in root.iterdir()):
                raise DataError(f"{root}: holds Parquet files but no {MANIFEST}; not a store")
            manifest = {"format": FORMAT, "kind": kind, "source": "akshare", "codes": {}}
        elif manifest.get("source", "akshare") != "akshare":
            raise DataError(
                f"{root}: holds bars imported from {manifest['source']}; fetch into another "
                "folder (a folder loads as one table)"
            )
        elif manifest.get("kind") != kind:
            raise DataError(
                f"{root}: this store holds {manifest.get('kind')} bars; put {kind} bars in "
                "another folder (a folder loads as one table)"
            )
        return cls(root, manifest)

    @property
    def kind(self) -> str:
        return self.manifest["kind"]

    def path(self, code: str) -> Path:
        return self.root / f"{code}.parquet"

    def entry(self, code: str) -> dict[str, Any] | None:
        """What the store holds for a code, reconciled with the files: a file lost since
        the manifest was written is forgotten, and a file whose manifest update was cut off
        by an interruption is taken for what it holds."""
        entry = self.manifest["codes"].get(code)
        path = self.path(code)
        if entry is not None and entry["rows"] > 0 and not path.exists():
            return None
        if path.exists() and (entry is None or entry["rows"] == 0):
            bars = pd.read_parquet(path, columns=["date"])
            first, last = bars["date"].min().date(), bars["date"].max().date()
            return _entry(first, last, len(bars), first, last)
        return entry

    def fetch(
        self,
        codes: Sequence[str],
        start: dt.date,
        end: dt.date,
        client: Akshare,
        *,
        retry_empty: bool = False,
        progress: bool | None = None,
        now: dt.datetime | None = None,
    ) -> FetchReport:
        """Bring every code up to [start, end]: only the dates the store lacks are asked
        for (a code already covering the range costs no request)."""
        with self._locked():
            return self._fetch(codes, start, end, client, retry_empty, progress, now)

    def fetch_all(
        self,
        start: dt.date,
        end: dt.date,
        client: Akshare,
        *,
        retry_empty: bool = False,
        progress: bool | None = None,
        now: dt.datetime | None = None,
    ) -> FetchReport:
        """Every A-share listed today and every delisted one the exchanges list (stocks
        only). The two lists are kept in the manifest, so that `quant data info` can tell
        how many delisted stocks have no bars."""
        if self.kind != "stocks":
            raise DataError("there is no list of all indices: name them with --codes")
        with self._locked():
            listed, delisted = client.listed_codes(), client.delisted_codes()
            self.manifest["universe"] = {
                "listed": listed,
                "delisted": delisted,
                "as_of": last_complete_day(now).isoformat(),
            }
            self._save_manifest()
            codes = sorted(set(listed) | set(delisted))
            return self._fetch(codes, start, end, client, retry_empty, progress, now)

    def _fetch(
        self,
        codes: Sequence[str],
        start: dt.date,
        end: dt.date,
        client: Akshare,
        retry_empty: bool,
        progress: bool | None,
        now: dt.datetime | None,
    ) -> FetchReport:
        end = min(end, last_complete_day(now))
        if start > end:
            raise DataError(f"start {start} is after end {end} (the last complete day)")
        report = FetchReport(requested=len(codes))
        bar = tqdm(
            codes,
            desc=f"fetch {self.kind}",
            unit="code",
            disable=None if progress is None else not progress,
        )
        for done, code in enumerate(bar):
            bar.set_postfix_str(code, refresh=False)
            try:
                self._update(code, start, end, client, report, retry_empty)
            except BlockedError as error:
                raise BlockedError(
                    f"{error} Progress: {done} of {len(codes)} codes done, kept in {self.root}."
                ) from None
        report.requests = getattr(client.call, "requests", 0)
        return report

    def _update(
        self,
        code: str,
        start: dt.date,
        end: dt.date,
        client: Akshare,
        report: FetchReport,
        retry_empty: bool,
    ) -> None:
        entry = self.entry(code)
        append = (
            entry is not None
            and start >= _day(entry["start"])
            and not (retry_empty and entry["rows"] == 0)
        )
        if append:  # ask only for the days after those already asked for
            since, until = _day(entry["end"]) + dt.timedelta(days=1), end
            covered = (_day(entry["start"]), max(end, _day(entry["end"])))
        else:  # new code, an earlier start, or an empty code asked again: the whole range
            since = start
            until = max(end, _day(entry["end"])) if entry else end
            covered = (since, until)
        if since > until:
            report.up_to_date += 1
            return
        old = pd.read_parquet(self.path(code)) if append and entry["rows"] > 0 else None
        if self.kind == "index":
            new = client.index_bars(code, since, until)
        else:
            new = client.stock_bars(code, since, until, _factor_state(old))
        report.fetched += 1
        report.new_rows += len(new)
        bars = new if old is None else _merge(old, new)
        if bars.empty:
            report.empty += 1
            if self.path(code).exists():  # a re-fetch from an earlier start found nothing
                self.path(code).unlink()
            self.manifest["codes"][code] = _entry(*covered, 0)
        else:
            write_atomic(self.path(code), lambda p: bars.to_parquet(p, index=False))
            self.manifest["codes"][code] = _entry(
                *covered,
                len(bars),
                bars["date"].iloc[0].date(),
                bars["date"].iloc[-1].date(),
            )
        self._save_manifest()

    def _save_manifest(self) -> None:
        self.manifest["updated"] = dt.datetime.now(EXCHANGE_TZ).isoformat(timespec="seconds")
        text = json.dumps(self.manifest, indent=1, ensure_ascii=False, sort_keys=True)
        write_text_atomic(self.root / MANIFEST, text + "\n")

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        """Hold the store's lock (one fetch per store at a time) and, holding it, remove
        temporary files left by a fetch that was killed between writing and renaming."""
        self.root.mkdir(parents=True, exist_ok=True)
        try:
            import fcntl
        except ImportError:  # Windows: no lock, and no clean-up of others' temporary files
            yield
            return
        with open(self.root / ".lock", "a+") as handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise DataError(f"{self.root}: another fetch is writing to this store") from None
            for stale in self.root.glob(".*.tmp"):
                stale.unlink(missing_ok=True)
            self.manifest = read_manifest(self.root) or self.manifest  # another fetch's work
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)


def _entry(
    start: dt.date,
    end: dt.date,
    rows: int,
    first: dt.date | None = None,
    last: dt.date | None = None,
) -> dict[str, Any]:
    """A manifest entry: [start, end] has been asked for; ``rows`` bars from ``first`` to
    ``last`` are on disk (rows == 0: the code came back empty)."""
    entry: dict[str, Any] = {"start": start.isoformat(), "end": end.isoformat(), "rows": rows}
    if rows:
        entry.update(first_date=first.isoformat(), last_date=last.isoformat())
    return entry


def _day(text: str) -> dt.date:
    return dt.date.fromisoformat(text)


def _merge(old: pd.DataFrame, new: pd.DataFrame) -> pd.DataFrame:
    """Old and new bars by date; a date in both keeps the new bar."""
    if new.empty:
        return old
    bars = pd.concat([old, new], ignore_index=True)
    bars = bars.drop_duplicates("date", keep="last").sort_values("date", kind="stable")
    return bars.reset_index(drop=True)


def _factor_state(old: pd.DataFrame | None) -> tuple[float, float] | None:
    """(factor in force, raw close on the first day of its run) of stored bars, so that an
    appended stretch keeps the factor instead of re-deriving it from one rounded day."""
    if old is None or "adj_factor" not in old.columns or old["adj_factor"].isna().all():
        return None
    factor = old["adj_factor"].to_numpy()
    last = factor[-1]
    if last != last:  # NaN: no factor in force
        return None
    run = factor != last
    first_of_run = len(factor) - (run[::-1].argmax() if run.any() else len(factor))
    return float(last), float(old["close"].iloc[first_of_run])
