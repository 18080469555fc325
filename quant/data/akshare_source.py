"""A-share data from akshare, turned into the tidy schema.

Which akshare functions are called, with which arguments, and how their answers (Chinese
column names, volume in lots of 100 shares, no adjustment factor) become tidy rows. The
pacing, retries and on-disk storage live in :mod:`quant.data.store`: every request made here
goes through the ``call`` it is given, one request per call.

Adjustment factor: akshare's East Money bars have no factor, only a raw and a back-adjusted
(``adjust="hfq"``) series. The factor is ``adj_factor = hfq close / raw close`` of the same
day, held constant while the factor in force still reproduces that day's hfq close to within
the rounding of the two series (see :func:`factor_from_hfq`), so that it changes on ex-rights
days only and ``raw x adj_factor`` gives the hfq prices.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np
import pandas as pd

from quant.data.errors import DataError
from quant.data.schema import CODE_FORM, CODE_PATTERN, REQUIRED_COLUMNS

log = logging.getLogger(__name__)

#: East Money reports volume in lots (手) of 100 shares; the tidy schema wants shares.
SHARES_PER_LOT = 100
#: ``stock_zh_a_hist`` columns (akshare 1.19.5) -> tidy names. Its other columns (股票代码,
#: 振幅, 涨跌幅, 涨跌额, 换手率) are not needed.
HIST_COLUMNS = {
    "日期": "date",
    "开盘": "open",
    "收盘": "close",
    "最高": "high",
    "最低": "low",
    "成交量": "volume",
    "成交额": "amount",
}
#: ``stock_zh_index_daily_em`` already answers in English; volume is in lots there too.
INDEX_COLUMNS = ("date", "open", "close", "high", "low", "volume", "amount")
#: A fen is the price step; the hfq series is rounded to it as well.
HALF_FEN = 0.005

Call = Callable[..., pd.DataFrame]


class ResponseError(DataError):
    """An akshare answer that does not have the documented shape (a column is missing)."""


def connection_errors() -> tuple[type[BaseException], ...]:
    """Exceptions that mean the request did not get a usable answer: worth a retry.

    East Money answers rapid requests by closing the connection (``RemoteDisconnected``,
    seen by requests as ``ConnectionError``) or, less often, with a page that is not JSON.
    """
    import requests

    return (
        ConnectionError,  # builtin: ConnectionResetError, RemoteDisconnected, ...
        TimeoutError,
        requests.exceptions.ConnectionError,
        requests.exceptions.Timeout,
        requests.exceptions.ChunkedEncodingError,
        requests.exceptions.JSONDecodeError,
    )


#: Words of the errors of a failed name lookup (glibc, macOS, Windows, urllib3).
NAME_LOOKUP_FAILED = (
    "name or service not known",
    "temporary failure in name resolution",
    "nodename nor servname provided",
    "getaddrinfo failed",
    "failed to resolve",
    "no address associated with hostname",
)


def unreachable(error: BaseException) -> str | None:
    """Why a request never reached a server, or None (it did, and the server refused or
    dropped it: worth a retry, and if that persists a block).

    requests wraps urllib3's errors (``ConnectionError(MaxRetryError(reason=
    NameResolutionError(...)))``), which wrap the socket's (``socket.gaierror`` for a failed
    DNS lookup; ``OSError`` ENETUNREACH / EHOSTUNREACH when there is no route): the whole
    chain (causes, contexts, arguments, ``reason``) is searched."""
    import errno
    import socket

    seen: set[int] = set()
    pending = [error]
    while pending:
        current = pending.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        name = type(current).__name__
        text = str(current).lower()
        if (
            isinstance(current, socket.gaierror)
            or name == "NameResolutionError"
            or any(words in text for words in NAME_LOOKUP_FAILED)
        ):
            return "the server's name could not be resolved (DNS lookup failed)"
        if isinstance(current, OSError) and current.errno in (
            errno.ENETUNREACH,
            errno.EHOSTUNREACH,
        ):
            return "the network is unreachable"
        if "network is unreachable" in text:
            return "the network is unreachable"
        for linked in (current.__cause__, current.__context__, getattr(current, "reason", None)):
            if isinstance(linked, BaseException):
                pending.append(linked)
        pending += [arg for arg in getattr(current, "args", ()) if isinstance(arg, BaseException)]
    return None


# -- codes -------------------------------------------------------------------------------


def exchange_of(digits: str) -> str | None:
    """Exchange of a six-digit A-share code, or None for codes that are not A-shares
    (B-shares 900xxx / 200xxx and others, which the delisting lists also contain)."""
    if len(digits) != 6 or not digits.isdigit():
        return None
    if digits.startswith("6"):
        return "SH"
    if digits.startswith(("00", "30")):
        return "SZ"
    if digits.startswith(("4", "8", "92")):
        return "BJ"
    return None


def normalize_code(text: str, *, index: bool = False) -> str:
    """``600000``, ``600000.sh``, ``sh600000``, ``sh.600000`` (baostock) -> ``600000.SH``.
    Index codes must name their exchange: 000001 is both Ping An Bank (SZ) and the SSE
    Composite (SH)."""
    raw = text.strip().upper()
    if raw[:3] in ("SH.", "SZ.", "BJ."):
        raw = raw[:2] + raw[3:]
    if raw[:2] in ("SH", "SZ", "BJ") and raw[2:].isdigit():
        raw = f"{raw[2:]}.{raw[:2]}"
    if raw.isdigit() and len(raw) == 6:
        if index:
            raise DataError(f"index code {text!r}: give the exchange, e.g. 000300.SH")
        exchange = exchange_of(raw)
        if exchange is None:
            raise DataError(f"code {text!r} is not an A-share code ({CODE_FORM})")
        raw = f"{raw}.{exchange}"
    if not CODE_PATTERN.match(raw):
        raise DataError(f"unknown code format {text!r}; expected {CODE_FORM}")
    if not index and exchange_of(raw[:6]) != raw[7:]:
        raise DataError(
            f"{raw} is not an A-share of {raw[7:]} (akshare would fetch "
            f"{raw[:6]}.{exchange_of(raw[:6])}); for an index use --index"
        )
    return raw


def _codes_in(frame: pd.DataFrame, column: str, what: str) -> list[str]:
    if frame is None or frame.empty:
        return []
    _require(frame, [column], what)
    digits = frame[column].astype(str).str.strip().str.zfill(6)
    codes = {f"{d}.{e}" for d in digits if (e := exchange_of(d)) is not None}
    return sorted(codes)


def _require(frame: pd.DataFrame, columns: Iterable[str], what: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ResponseError(
            f"{what}: the answer has no column {', '.join(repr(c) for c in missing)} "
            f"(columns: {', '.join(map(str, frame.columns))}); akshare's format may have "
            "changed: check the installed akshare version against constraints.txt"
        )


# -- bars --------------------------------------------------------------------------------


def factor_from_hfq(
    raw_close: np.ndarray,
    hfq_close: np.ndarray,
    previous: tuple[float, float] | None = None,
) -> np.ndarray:
    """Adjustment factors from a raw and a back-adjusted (hfq) close series.

    Day t takes ``hfq_close[t] / raw_close[t]``, unless the factor in force still gives
    ``|raw_close[t] x factor - hfq_close[t]|`` within the rounding of the two series
    (half a fen on hfq, plus half a fen scaled by the price move since the factor was set):
    then it is kept, so that the factor changes on ex-rights days only and the panel's
    ex-rights reference prices (previous close x factor ratio) are not disturbed by
    rounding noise. Days without a positive hfq close keep the factor in force (NaN before
    the first one). ``previous`` = (factor, raw close the factor was set on) continues a
    stored series on an incremental update.
    """
    out = np.full(len(raw_close), np.nan)
    factor, anchor = previous if previous is not None else (np.nan, np.nan)
    for t, (raw, hfq) in enumerate(zip(raw_close.tolist(), hfq_close.tolist())):
        if raw > 0 and hfq > 0:
            slack = HALF_FEN * (1.0 + raw / anchor) + 1e-9 if anchor > 0 else -1.0
            if not abs(raw * factor - hfq) <= slack:  # also true when factor is NaN
                factor, anchor = hfq / raw, raw
        out[t] = factor
    return out


def bars_from_hist(
    raw: pd.DataFrame,
    hfq: pd.DataFrame,
    code: str,
    previous: tuple[float, float] | None = None,
) -> pd.DataFrame:
    """Tidy bars (with adj_factor) from ``stock_zh_a_hist`` raw and hfq answers."""
    what = f"stock_zh_a_hist({code[:6]})"
    if raw is None or raw.empty:
        return empty_bars(with_factor=True)
    _require(raw, HIST_COLUMNS, what)
    bars = raw[list(HIST_COLUMNS)].rename(columns=HIST_COLUMNS)
    bars["date"] = pd.to_datetime(bars["date"])
    bars = _typed(bars, code)
    if hfq is None or hfq.empty:
        log.warning("%s: no hfq series; %s gets no adj_factor (adjusted = raw)", what, code)
        hfq_close = np.full(len(bars), np.nan)
    else:
        _require(hfq, ["日期", "收盘"], f"{what}, adjust='hfq'")
        by_date = pd.Series(
            pd.to_numeric(hfq["收盘"], errors="coerce").to_numpy(),
            index=pd.to_datetime(hfq["日期"]),
        )
        by_date = by_date[~by_date.index.duplicated(keep="last")]
        hfq_close = by_date.reindex(bars["date"]).to_numpy(dtype=float)
    bars["adj_factor"] = factor_from_hfq(bars["close"].to_numpy(), hfq_close, previous)
    return bars


def bars_from_index(frame: pd.DataFrame, code: str) -> pd.DataFrame:
    """Tidy index bars from a ``stock_zh_index_daily_em`` answer."""
    if frame is None or frame.empty:
        return empty_bars(with_factor=False)
    _require(frame, INDEX_COLUMNS, f"stock_zh_index_daily_em({index_symbol(code)})")
    bars = frame[list(INDEX_COLUMNS)].copy()
    bars["date"] = pd.to_datetime(bars["date"])
    return _typed(bars, code)


def _typed(bars: pd.DataFrame, code: str) -> pd.DataFrame:
    bars = bars.copy()
    bars["code"] = code
    for column in ("open", "high", "low", "close", "volume", "amount"):
        bars[column] = pd.to_numeric(bars[column], errors="coerce").astype("float64")
    bars["volume"] *= SHARES_PER_LOT
    prices = bars[["open", "high", "low", "close"]]
    unusable = (prices.isna() | (prices <= 0)).any(axis=1) | bars["date"].isna()
    if unusable.any():
        log.warning("%s: dropped %d bars without usable prices", code, int(unusable.sum()))
        bars = bars[~unusable]
    bars = bars.sort_values("date", kind="stable").drop_duplicates("date", keep="last")
    return bars[list(REQUIRED_COLUMNS)].reset_index(drop=True)


def empty_bars(*, with_factor: bool) -> pd.DataFrame:
    columns = [*REQUIRED_COLUMNS, *(["adj_factor"] if with_factor else [])]
    frame = pd.DataFrame({c: pd.Series(dtype="float64") for c in columns})
    frame["date"] = pd.Series(dtype="datetime64[ns]")
    frame["code"] = pd.Series(dtype="str")
    return frame


def index_symbol(code: str) -> str:
    """``000300.SH`` -> ``sh000300``, the symbol form of ``stock_zh_index_daily_em``."""
    return f"{code[7:].lower()}{code[:6]}"


def _yyyymmdd(day: dt.date) -> str:
    return day.strftime("%Y%m%d")


class Akshare:
    """The akshare requests the store makes.

    ``module`` is akshare itself (imported on first use) or a stand-in with the same
    functions; functions are looked up on it at call time, so monkeypatching works.
    ``call(function, **kwargs)`` performs one request; the store passes a throttle that
    paces and retries.
    """

    def __init__(self, module: Any = None, call: Callable[..., pd.DataFrame] | None = None):
        self._module = module
        self.call = call or (lambda function, **kwargs: function(**kwargs))

    @property
    def module(self) -> Any:
        if self._module is None:
            import akshare

            self._module = akshare
        return self._module

    def _request(self, name: str, **kwargs: Any) -> pd.DataFrame:
        return self.call(getattr(self.module, name), **kwargs)

    def listed_codes(self) -> list[str]:
        """Today's A-shares (SH, SZ, BJ): ``stock_info_a_code_name``."""
        frame = self._request("stock_info_a_code_name")
        return _codes_in(frame, "code", "stock_info_a_code_name()")

    def delisted_codes(self) -> list[str]:
        """Delisted A-shares of Shanghai and Shenzhen (akshare has no Beijing list)."""
        sh = self._request("stock_info_sh_delist", symbol="全部")
        sz = self._request("stock_info_sz_delist", symbol="终止上市公司")
        return sorted(
            set(_codes_in(sh, "公司代码", "stock_info_sh_delist('全部')"))
            | set(_codes_in(sz, "证券代码", "stock_info_sz_delist('终止上市公司')"))
        )

    def stock_bars(
        self,
        code: str,
        start: dt.date,
        end: dt.date,
        previous: tuple[float, float] | None = None,
    ) -> pd.DataFrame:
        """Raw daily bars with adj_factor: two requests (raw, then hfq)."""
        request = {
            "symbol": code[:6],
            "period": "daily",
            "start_date": _yyyymmdd(start),
            "end_date": _yyyymmdd(end),
        }
        raw = self._request("stock_zh_a_hist", **request, adjust="")
        if raw is None or raw.empty:
            return empty_bars(with_factor=True)
        hfq = self._request("stock_zh_a_hist", **request, adjust="hfq")
        return bars_from_hist(raw, hfq, code, previous)

    def index_bars(self, code: str, start: dt.date, end: dt.date) -> pd.DataFrame:
        """Daily index bars: ``stock_zh_index_daily_em`` (one request)."""
        try:
            frame = self._request(
                "stock_zh_index_daily_em",
                symbol=index_symbol(code),
                start_date=_yyyymmdd(start),
                end_date=_yyyymmdd(end),
            )
        except TypeError as error:
            # akshare reads data_json["data"]["klines"], and "data" is null for unknown codes
            if "NoneType" not in str(error):
                raise
            return empty_bars(with_factor=False)
        return bars_from_index(frame, code)
