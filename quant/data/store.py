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
import pyarrow as pa
import pyarrow.parquet as pq
from tqdm.auto import tqdm

from quant.data.akshare_source import Akshare, connection_errors, unreachable
from quant.data.errors import DataError
from quant.data.manifest import FORMAT, MANIFEST, read_manifest
from quant.data.panel import MarketPanel
from quant.errors import UserError
from quant.io import atomic_folder, must_be_empty, write_atomic, write_text_atomic

log = logging.getLogger(__name__)

__all__ = ["FORMAT", "MANIFEST", "BlockedError", "OfflineError", "Store", "read_manifest"]

KINDS = ("stocks", "index")
#: The Parquet file of an imported store: every bar, sorted by (code, date).
IMPORTED_BARS = "bars.parquet"
#: Codes written to an imported store's file at a time (one row group each).
WRITE_CODES = 256
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


class OfflineError(UserError):
    """The request never reached a server: the host name did not resolve (no network, or
    no DNS), or the network is unreachable. Not worth a retry, and not a block."""


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
                cause = unreachable(error)
                if cause is not None:
                    raise OfflineError(
                        f"{name}: {cause}: this machine cannot reach the data server (no "
                        "network, or no DNS). Check the connection, then run the same "
                        "command again"
                    ) from None
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
    panel: MarketPanel,
    root: str | Path,
    *,
    kind: str,
    imported: dict[str, Any],
    replace: bool = False,
) -> Path:
    """Write a panel's bars as an imported store: one Parquet file (IMPORTED_BARS, the tidy
    schema sorted by (code, date), a row group per WRITE_CODES codes, LZ4: read twice as
    fast as zstd for 15 % more disk) plus a manifest
    whose ``source`` is ``import:<layout>`` and whose ``imported`` says from what
    (``imported``: format, from, options). The manifest also keeps what the bars cannot
    say and every report must: ``approximated`` (amount from volume x price; adj_factor
    missing for some codes; is_st unknown), the intake's ``notes`` and the codes
    ``listed_at_end``. The folder is built under a temporary name and renamed when
    complete, so it exists whole or not at all; ``root`` must be new or an empty folder
    (FileExistsError otherwise) unless ``replace`` (``quant data update``: the old store is
    swapped out whole). ``quant data fetch`` refuses such a folder (a fetch would mix
    sources)."""
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}")
    entries: dict[str, Any] = {}
    with atomic_folder(root, _replaceable if replace else must_be_empty) as folder:
        path = folder / IMPORTED_BARS
        writer: pq.ParquetWriter | None = None
        try:
            for table in _tables(panel, entries):
                writer = writer or pq.ParquetWriter(path, table.schema, compression="lz4")
                writer.write_table(table)
        finally:
            if writer is not None:
                writer.close()
        manifest = {
            "format": FORMAT,
            "kind": kind,
            "source": f"import:{imported['format']}",
            "imported": {
                **imported,
                "at": dt.datetime.now(EXCHANGE_TZ).isoformat(timespec="seconds"),
            },
            "approximated": approximations(panel),
            "notes": list(panel.notes),
            "listed_at_end": sorted(_listed_at_end(panel)),
            "codes": entries,
        }
        text = json.dumps(manifest, indent=1, ensure_ascii=False, sort_keys=True)
        (folder / MANIFEST).write_text(text + "\n", encoding="utf-8")
    return Path(root)


def _replaceable(target: Path) -> None:
    """An imported store may be replaced by its update (its manifest says what it is)."""
    if target.exists() and (read_manifest(target) or {}).get("source", "").startswith("import:"):
        return
    must_be_empty(target)


def approximations(panel: MarketPanel) -> dict[str, str]:
    """What a panel's data approximates, field -> how (empty: nothing)."""
    out = {}
    if panel.amount_approximated:
        out["amount"] = "volume x (open + high + low + close) / 4: the source had no amount"
    if panel.codes_without_adj and (panel.board != "").any():
        out["adj_factor"] = (
            f"none for {len(panel.codes_without_adj):,} of {len(panel.codes):,} codes: their "
            "prices are not adjusted, so their ex-rights days look like gaps"
        )
    if not panel.st_known and (panel.board != "").any():
        out["is_st"] = "unknown: ST stocks get their board's normal price limit"
    return out


def _listed_at_end(panel: MarketPanel) -> set[str]:
    last = panel.last_bar_row == len(panel.dates) - 1
    return set(panel.codes[last]) | set(panel.suspended_at_end)


def _tables(panel: MarketPanel, entries: dict[str, Any]):
    """The panel's bars as Arrow tables of WRITE_CODES codes each, in (code, date) order;
    adds each code's manifest entry to ``entries``."""
    without = panel.codes.isin(panel.codes_without_adj)
    codes = pa.array(panel.codes.astype(str))
    for start in range(0, len(panel.codes), WRITE_CODES):
        cols = np.arange(start, min(start + WRITE_CODES, len(panel.codes)))
        keep = panel.has_bar[:, cols].T  # (n, T): by code, then date
        stock, day = np.divmod(np.flatnonzero(keep), len(panel.dates))
        col = cols[stock]
        columns = {
            "date": pa.array(panel.dates.to_numpy()[day]),
            "code": pa.DictionaryArray.from_arrays(pa.array(col.astype(np.int32)), codes),
        }
        for name in ("open", "high", "low", "close"):
            columns[name] = pa.array(panel.exact(getattr(panel, name)[day, col]))
        columns["volume"] = pa.array(panel.volume[day, col].astype(np.float64))
        columns["amount"] = pa.array(panel.amount[day, col].astype(np.float64))
        if not without.all():
            factor = np.where(without[col], np.nan, panel.adj_factor[day, col])
            columns["adj_factor"] = pa.array(factor, from_pandas=True)
        if panel.st_known:
            columns["is_st"] = pa.array(panel.is_st[day, col])
        if panel.delisting is not None:
            columns["delisting"] = pa.array(panel.delisting[day, col])
        counts = np.bincount(stock, minlength=len(cols))
        ends = np.cumsum(counts)
        for k, j in enumerate(cols):
            if counts[k]:
                entries[str(panel.codes[j])] = {
                    "rows": int(counts[k]),
                    "first_date": panel.dates[day[ends[k] - counts[k]]].date().isoformat(),
                    "last_date": panel.dates[day[ends[k] - 1]].date().isoformat(),
                }
        yield pa.table(columns)


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

    def update(
        self,
        end: dt.date,
        client: Akshare,
        *,
        progress: bool | None = None,
        now: dt.datetime | None = None,
    ) -> FetchReport:
        """Bring every code of the store up to ``end`` (the last session that is final),
        each from its own start: only the days after those already asked for are requested
        (:meth:`fetch`). A store filled with ``fetch_all`` lists the exchanges' codes again,
        so that new listings come in from the store's first day. A day that no code came
        back with (the source has not published it yet) is not counted as asked for, so
        the next update asks for it again; a day only some codes lack (suspensions) is."""
        with self._locked():
            before = {code: dict(entry) for code, entry in self.manifest["codes"].items()}
            if not before:
                raise DataError(
                    f"{self.root}: the store holds no codes: fill it with quant data fetch"
                )
            starts: dict[dt.date, list[str]] = {}
            for code, entry in before.items():
                starts.setdefault(_day(entry["start"]), []).append(code)
            if "universe" in self.manifest:
                listed, delisted = client.listed_codes(), client.delisted_codes()
                self.manifest["universe"] = {
                    "listed": listed, "delisted": delisted, "as_of": end.isoformat()
                }  # fmt: skip
                new = sorted(set(listed) - set(before))
                starts.setdefault(min(starts), []).extend(new)
            report = FetchReport()
            for start, codes in sorted(starts.items()):
                part = self._fetch(sorted(codes), start, end, client, False, progress, now)
                for name in ("requested", "up_to_date", "fetched", "empty", "new_rows"):
                    setattr(report, name, getattr(report, name) + getattr(part, name))
                report.requests = part.requests
            self._forget_unpublished(before)
            return report

    def _forget_unpublished(self, before: dict[str, dict[str, Any]]) -> None:
        """Entries moved past the newest bar of the store back to it (see :meth:`update`)."""
        entries = self.manifest["codes"]
        lasts = [_day(e["last_date"]) for e in entries.values() if e["rows"] > 0]
        if not lasts:
            return
        newest = max(lasts)
        for code, entry in entries.items():
            if _day(entry["end"]) > newest:
                old = before.get(code)
                entry["end"] = max(newest, _day(old["end"]) if old else newest).isoformat()
        self._save_manifest()

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
        temporary files left by a fetch that was killed between writing and renaming. A
        fetch that stored nothing (no manifest written: the first request failed) leaves
        no store behind: the lock file goes, and the folder if this fetch made it."""
        made = not self.root.exists()
        self.root.mkdir(parents=True, exist_ok=True)
        try:
            import fcntl
        except ImportError:  # Windows: no lock, and no clean-up of others' temporary files
            yield
            return
        try:
            with open(self.root / ".lock", "a+") as handle:
                try:
                    fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    made = False  # another fetch's store
                    raise DataError(
                        f"{self.root}: another fetch is writing to this store"
                    ) from None
                for stale in self.root.glob(".*.tmp"):
                    stale.unlink(missing_ok=True)
                self.manifest = read_manifest(self.root) or self.manifest  # another fetch's work
                try:
                    yield
                finally:
                    fcntl.flock(handle, fcntl.LOCK_UN)
        finally:
            if not (self.root / MANIFEST).exists():
                (self.root / ".lock").unlink(missing_ok=True)
                if made and not any(self.root.iterdir()):
                    self.root.rmdir()


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
