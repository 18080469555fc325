"""``quant data update``: bring a store up to the last session whose bars are final.

- An akshare store (``quant data fetch``) asks East Money, through the same client, throttle
  and store code as a fetch, for the sessions after those each code already has
  (:meth:`quant.data.store.Store.update`); a store fetched with ``--all`` takes new listings
  too.
- An imported store (``quant data import``) reads its source files again, as its manifest
  names them (a folder's new files with them), checks them as any import is checked, and
  replaces the store whole when they hold a later session.

After an update the store is read back through the intake's checks (quant.data.load), so a
bad bar is a DataError naming the file, code and date, not a number in tomorrow's orders.
When there is nothing to add, the line says why: the exchange has not closed yet (a
session's bars are final at 16:00 Beijing time, quant.data.store.DAY_FINAL_AT), today is
not a session, or the source has not published a new day.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from quant.data.akshare_source import Akshare
from quant.data.errors import DataError
from quant.data.manifest import read_manifest
from quant.data.panel import MarketPanel
from quant.data.store import (
    DAY_FINAL_AT,
    EXCHANGE_TZ,
    Store,
    Throttle,
    last_complete_day,
    write_imported,
)
from quant.market.calendar import exchange_sessions

#: The time now in Beijing (replaced in tests).
clock: Callable[[], dt.datetime] = lambda: dt.datetime.now(EXCHANGE_TZ)  # noqa: E731


@dataclass(frozen=True)
class Update:
    """What an update did: the store's last session ``before`` and ``after`` it (None: no
    bars), the ``new_bars`` it added, the ``requests`` it made, the session it aimed at
    (``target``), and ``line``: one sentence for the user. ``revised``: bars of earlier
    sessions that the source now gives differently (imported stores)."""

    store: Path
    before: dt.date | None
    after: dt.date | None
    target: dt.date
    new_bars: int
    requests: int
    line: str
    revised: int = 0


def last_final_session(now: dt.datetime) -> dt.date:
    """The last XSHG session whose bars are final at ``now`` (after 16:00 Beijing time on a
    session, that session; before, the session before it)."""
    known = exchange_sessions()
    final = pd.Timestamp(last_complete_day(now))
    return known[known <= final][-1].date()


def update_store(
    root: str | Path,
    *,
    client: Akshare | None = None,
    now: dt.datetime | None = None,
    progress: bool | None = None,
) -> Update:
    """Update the store at ``root`` (an akshare or an imported store; see the module).
    ``client``: the akshare client (default: one pacing requests with the default
    throttle). Raises DataError when ``root`` is not a store that can be updated, when the
    new bars fail the intake's checks, or (BlockedError, OfflineError) when East Money
    cannot be reached."""
    root = Path(root)
    if not root.is_dir():
        raise DataError(f"{root}: no such folder (quant data fetch or import makes a store)")
    manifest = read_manifest(root)
    if manifest is None:
        raise DataError(
            f"{root}: no manifest.json: not a store. A folder of your own files is read as "
            "it is: put the new files in it"
        )
    if manifest.get("kind") == "synthetic":
        raise DataError(f"{root}: a synthetic market has no source to update from")
    now = (now or clock()).astimezone(EXCHANGE_TZ)
    source = manifest.get("source", "akshare")
    if source == "akshare":
        return _update_akshare(root, manifest, client, now, progress)
    if source.startswith("import:"):
        return _update_imported(root, manifest, now)
    raise DataError(f"{root}: a store from {source!r}; quant data update knows akshare and imports")


def _update_akshare(
    root: Path,
    manifest: dict[str, Any],
    client: Akshare | None,
    now: dt.datetime,
    progress: bool | None,
) -> Update:
    target = last_final_session(now)
    before = _last_bar(manifest)
    store = Store.open(root, manifest["kind"])
    client = client or Akshare(call=Throttle())
    report = store.update(target, client, progress=progress, now=now)
    after = _last_bar(store.manifest)
    if not report.fetched:
        return Update(
            root, before, after, target, 0, report.requests, _nothing_new(root, before, now)
        )
    if not report.new_rows:
        line = (
            f"{root}: the source has no new day: asked for the sessions after {before} up to "
            f"{target}, none came back (East Money publishes a session's bars some time after "
            "its close: run again later)"
        )
        return Update(root, before, after, target, 0, report.requests, line)
    _check(root, manifest["kind"])
    line = (
        f"{root}: {report.new_rows:,} new bars of {report.fetched:,} codes, last session "
        f"{before} -> {after}; {report.requests:,} requests"
    )
    return Update(root, before, after, target, report.new_rows, report.requests, line)


def _update_imported(root: Path, manifest: dict[str, Any], now: dt.datetime) -> Update:
    from quant.data.load import load_panel
    from quant.data.readers.base import ReadOptions

    imported = manifest["imported"]
    paths = imported.get("paths") or imported["from"].split(", ")
    missing = [path for path in paths if not Path(path).exists()]
    if missing:
        raise DataError(f"{root}: imported from {missing[0]}, which is no longer there")
    kind = "index" if manifest["kind"] == "index" else "stock"
    options = ReadOptions(**imported.get("options", {}))
    panel = load_panel(
        paths[0] if len(paths) == 1 else paths,
        kind=kind,
        format=imported["format"],
        options=options,
    )
    before = _last_bar(manifest)
    after = panel.dates[-1].date()
    target = last_final_session(now)
    if before is not None and after <= before:
        line = (
            f"{root}: the source has no new day: its files end at {after}, as the store does "
            f"({imported['format']} files at {imported['from']})"
        )
        if before >= target:
            line = _nothing_new(root, before, now)
        return Update(root, before, before, target, 0, 0, line)
    old = load_panel(root, kind=kind)
    revised = _revised(old, panel)
    new_bars = int(panel.has_bar[panel.dates.date > before].sum()) if before else 0
    write_imported(panel, root, kind=manifest["kind"], imported=imported, replace=True)
    line = (
        f"{root}: {new_bars:,} new bars from the {imported['format']} files, last session "
        f"{before} -> {after}"
    )
    if revised:
        line += (
            f"; {revised:,} bars of earlier sessions differ from the store's (the source "
            "revised them: backtests and books of those sessions read the old ones)"
        )
    return Update(root, before, after, target, new_bars, 0, line, revised)


def _last_bar(manifest: dict[str, Any]) -> dt.date | None:
    lasts = [e["last_date"] for e in manifest.get("codes", {}).values() if e.get("rows")]
    return dt.date.fromisoformat(max(lasts)) if lasts else None


def _nothing_new(root: Path, before: dt.date | None, now: dt.datetime) -> str:
    today = now.date()
    sessions = exchange_sessions()
    if pd.Timestamp(today) in sessions and now.time() < DAY_FINAL_AT:
        why = (
            f"the exchange has not closed yet: today's bars ({today}) are final at "
            f"{DAY_FINAL_AT:%H:%M} Beijing time, it is {now:%H:%M}"
        )
    elif pd.Timestamp(today) not in sessions:
        why = f"today ({today}) is not a session"
    else:
        why = f"today's session ({today}) is in it"
    return f"{root}: up to date: the last session is {before}; {why}"


def _check(root: Path, kind: str) -> MarketPanel:
    """The store read back through the intake's checks (DataError naming what is wrong)."""
    from quant.data.load import load_panel

    return load_panel(root, kind="index" if kind == "index" else "stock")


def _revised(old: MarketPanel, new: MarketPanel) -> int:
    """Bars of ``old`` that ``new`` gives with another close or adjustment factor, or not
    at all."""
    rows, cols = new.dates.get_indexer(old.dates), new.codes.get_indexer(old.codes)
    r, c = rows >= 0, cols >= 0
    same = np.zeros(old.has_bar.shape, dtype=bool)
    inner = np.ix_(rows[r], cols[c])
    same[np.ix_(r, c)] = (
        new.has_bar[inner]
        & np.isclose(old.close[np.ix_(r, c)], new.close[inner], rtol=0, atol=1e-9)
        & np.isclose(
            old.adj_factor[np.ix_(r, c)], new.adj_factor[inner], rtol=1e-12, equal_nan=True
        )
    )
    return int((old.has_bar & ~same).sum())
