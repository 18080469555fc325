"""The layouts corporate actions are published in, each mapped into the tidy table
(quant.data.actions.table) with its documentation as the source. A file's layout is known
by its columns (:func:`identify`); akshare's per-stock tables have no code column, so the
code comes from the file name (600000.csv) unless the file has one.

| layout | source | unit | rows kept |
| --- | --- | --- | --- |
| tidy | our schema (quant.data.actions.table) | per share | all |
| tushare | tushare pro ``dividend`` (https://tushare.pro/document/2?doc_id=103): ts_code, div_proc, stk_bo_rate (送股), stk_co_rate (转增), stk_div (送转 together), cash_div_tax (cash before tax), record_date, ex_date, pay_date, div_listdate (YYYYMMDD) | per share | div_proc 实施 |
| baostock | ``query_dividend_data`` (http://baostock.com, 除权除息信息): code (sh.600000), dividRegistDate, dividOperateDate (ex), dividPayDate, dividStockMarketDate, dividCashPsBeforeTax, dividStocksPs (送股), dividReserveToStockPs (转增); every field text, "" when absent | per share | a dividOperateDate |
| akshare_sina_dividend | ``stock_history_dividend_detail(symbol, indicator="分红")`` (新浪 vISSUE_ShareBonus): 公告日期, 送股, 转增, 派息 (before tax), 进度, 除权除息日, 股权登记日, 红股上市日 | per 10 shares | 进度 实施 |
| akshare_sina_rights | ``stock_history_dividend_detail(symbol, indicator="配股")``: 公告日期, 配股方案, 配股价格, 基准股本, 除权日, 股权登记日, 缴款起始日, 缴款终止日, 配股上市日, 募集资金合计 | per 10 shares (配股方案) | an 除权日 |
| akshare_cninfo | ``stock_dividend_cninfo(symbol)`` (巨潮): 实施方案公告日期, 分红类型, 送股比例, 转增比例, 派息比例, 股权登记日, 除权日, 派息日, 股份到账日, 实施方案分红说明, 报告时间 | per 10 shares | an 除权日 (implemented plans only) |
| akshare_em | ``stock_fhps_detail_em(symbol)`` (东方财富 RPT_SHAREBONUS_DET): 送转股份-送股比例, 送转股份-转股比例, 现金分红-现金分红比例 (before tax), 股权登记日, 除权除息日, 方案进度 | per 10 shares | 方案进度 实施分配 |

Column names and units were read from akshare's source (akfamily/akshare at 0e7db00:
akshare/stock_fundamental/stock_finance_sina.py, akshare/stock/stock_dividend_cninfo.py,
akshare/stock_feature/stock_fhps_em.py), tushare's and baostock's documentation and the
recorded rows in tests/data/actions/. Rights issues come only from akshare's Sina table:
tushare's ``dividend`` does not record them and baostock has no such query.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from quant.data.akshare_source import normalize_code
from quant.data.errors import DataError
from quant.data.validate import fail_where, to_float

#: The akshare tables hold no code: these columns carry one where a user added it.
CODE_COLUMNS = ("代码", "股票代码", "code")
#: Otherwise a file's name begins with its code: 600000.csv, sh600000_配股.csv, 600000.SH.parquet.
CODE_IN_NAME = re.compile(r"^((?:sh|sz|bj)\.?)?(\d{6})(\.(?:sh|sz|bj)(?![a-z]))?", re.IGNORECASE)


@dataclass(frozen=True)
class ActionLayout:
    """A published table: ``markers`` (columns that only it has) recognise it;
    ``columns`` map its names to the tidy ones; amounts are per ``per`` shares; rows are
    kept where ``status`` (column, accepted values) holds, or where ``needs`` (a column)
    is not blank. ``code``: its code column, or "" to take the code from the file name;
    ``total``: a column of bonus and transferred shares together, used where the table
    does not split them; ``required``: amount columns a file of the layout must have (a
    query may leave them out, and every amount would read as 0), each with a hint."""

    name: str
    markers: frozenset[str]
    columns: dict[str, str]
    per: float = 1.0
    code: str = ""
    status: tuple[str, tuple[str, ...]] | None = None
    needs: str = ""
    total: str = ""
    date_format: str | None = None
    notes: tuple[str, ...] = field(default_factory=tuple)
    required: dict[str, str] = field(default_factory=dict)


TIDY = ActionLayout(
    "tidy",
    frozenset({"ex_date"}),
    {
        c: c
        for c in (
            "code",
            "ex_date",
            "record_date",
            "pay_date",
            "listing_date",
            "cash",
            "bonus",
            "transfer",
            "rights",
            "rights_price",
            "source",
        )
    },
    code="code",
)
TUSHARE = ActionLayout(
    "tushare",
    frozenset({"ts_code", "div_proc"}),
    {
        "ts_code": "code",
        "ex_date": "ex_date",
        "record_date": "record_date",
        "pay_date": "pay_date",
        "div_listdate": "listing_date",
        "cash_div_tax": "cash",
        "stk_bo_rate": "bonus",
        "stk_co_rate": "transfer",
    },
    code="ts_code",
    status=("div_proc", ("实施",)),
    total="stk_div",
    date_format="%Y%m%d",
    required={"cash_div_tax": "cash_div is after tax", "stk_div": ""},
)
BAOSTOCK = ActionLayout(
    "baostock",
    frozenset({"dividOperateDate"}),
    {
        "code": "code",
        "dividOperateDate": "ex_date",
        "dividRegistDate": "record_date",
        "dividPayDate": "pay_date",
        "dividStockMarketDate": "listing_date",
        "dividCashPsBeforeTax": "cash",
        "dividStocksPs": "bonus",
        "dividReserveToStockPs": "transfer",
    },
    code="code",
    needs="dividOperateDate",
    required={
        "dividCashPsBeforeTax": "dividCashPsAfterTax is after tax",
        "dividStocksPs": "",
        "dividReserveToStockPs": "",
    },
)
SINA_DIVIDEND = ActionLayout(
    "akshare_sina_dividend",
    frozenset({"送股", "转增", "派息", "除权除息日"}),
    {
        "除权除息日": "ex_date",
        "股权登记日": "record_date",
        "红股上市日": "listing_date",
        "派息": "cash",
        "送股": "bonus",
        "转增": "transfer",
    },
    per=10.0,
    status=("进度", ("实施",)),
)
SINA_RIGHTS = ActionLayout(
    "akshare_sina_rights",
    frozenset({"配股方案", "配股价格", "除权日"}),
    {
        "除权日": "ex_date",
        "股权登记日": "record_date",
        "缴款起始日": "pay_date",
        "配股上市日": "listing_date",
        "配股方案": "rights",
        "配股价格": "rights_price",
    },
    per=10.0,
    needs="除权日",
)
CNINFO = ActionLayout(
    "akshare_cninfo",
    frozenset({"派息比例", "除权日", "派息日"}),
    {
        "除权日": "ex_date",
        "股权登记日": "record_date",
        "派息日": "pay_date",
        "股份到账日": "listing_date",
        "派息比例": "cash",
        "送股比例": "bonus",
        "转增比例": "transfer",
    },
    per=10.0,
    needs="除权日",
)
EASTMONEY = ActionLayout(
    "akshare_em",
    frozenset({"送转股份-送股比例", "现金分红-现金分红比例", "除权除息日"}),
    {
        "除权除息日": "ex_date",
        "股权登记日": "record_date",
        "现金分红-现金分红比例": "cash",
        "送转股份-送股比例": "bonus",
        "送转股份-转股比例": "transfer",
    },
    per=10.0,
    status=("方案进度", ("实施分配",)),
    total="送转股份-送转总比例",
)
#: Most specific first (the tidy schema's ex_date is also tushare's).
LAYOUTS: dict[str, ActionLayout] = {
    layout.name: layout
    for layout in (TUSHARE, BAOSTOCK, SINA_RIGHTS, CNINFO, SINA_DIVIDEND, EASTMONEY, TIDY)
}


def identify(columns: list[str]) -> ActionLayout | None:
    """The layout whose marker columns a file has, or None."""
    names = {str(c).strip() for c in columns}
    return next((layout for layout in LAYOUTS.values() if layout.markers <= names), None)


def to_tidy(
    table: pd.DataFrame, layout: ActionLayout, file: Path
) -> tuple[pd.DataFrame, list[str]]:
    """A file's rows (numbered: ``_source``, ``_row``) in tidy names and units, the rows
    its layout does not apply (plans not carried out) left out; returns them and notes
    on what was left out or assumed."""
    source = str(file)
    ex_column = next(theirs for theirs, ours in layout.columns.items() if ours == "ex_date")
    required = [ex_column, *([layout.status[0]] if layout.status else []), *layout.required]
    missing = [c for c in required if c not in table.columns]
    if missing:
        hints = "; ".join(layout.required[c] for c in missing if layout.required.get(c))
        raise DataError(
            f"{source}: missing column(s) {', '.join(missing)} of {layout.name}"
            + (f" ({hints})" if hints else "")
        )
    notes: list[str] = []
    keep = np.ones(len(table), dtype=bool)
    if layout.status is not None:
        column, accepted = layout.status
        keep &= table[column].astype("string").str.strip().isin(accepted).fillna(False).to_numpy()
    if layout.needs:
        text = table[layout.needs].astype("string").str.strip().str.lower()
        keep &= ~(table[layout.needs].isna() | text.isin(["", "nat", "nan", "none"])).to_numpy()
    if (~keep).any():
        why = (
            f"{layout.status[0]} not {'/'.join(layout.status[1])}"
            if layout.status
            else f"no {layout.needs}"
        )
        notes.append(f"{source}: {int((~keep).sum())} rows not carried out ({why}) left out")
    kept = table[keep]
    out = pd.DataFrame({"_source": kept["_source"], "_row": kept["_row"]})
    for theirs, ours in layout.columns.items():
        if theirs in kept.columns:
            out[ours] = kept[theirs]
    out["code"] = _code(kept, layout, file) if len(kept) else pd.Series(dtype="string")
    for column in ("cash", "bonus", "transfer", "rights"):
        if column in out.columns:
            out[column] = (to_float(out, column) / layout.per).round(10)  # 2.3 / 10 = 0.23
    if layout.total and layout.total in kept.columns:
        notes += _unsplit(kept, out, layout, source)
    if layout.date_format:
        for column in ("ex_date", "record_date", "pay_date", "listing_date"):
            if column in out.columns:
                out[column] = _with_format(out, column, layout.date_format)
    return out, notes


def _code(table: pd.DataFrame, layout: ActionLayout, file: Path) -> pd.Series:
    """The rows' codes: the layout's code column, a code column a user added, or the
    file's name (akshare's tables are per stock and hold none)."""
    column = layout.code or next((c for c in CODE_COLUMNS if c in table.columns), "")
    if column:
        digits = table[column].astype("string").str.strip()
        return digits.where(~digits.str.fullmatch(r"\d{1,6}").fillna(False), digits.str.zfill(6))
    match = CODE_IN_NAME.match(file.name)
    try:
        code = normalize_code("".join(g for g in match.groups() if g)) if match else ""
    except DataError:
        code = ""
    if not code:
        raise DataError(
            f"{file}: no code column ({', '.join(CODE_COLUMNS)}), and the file name does not "
            "begin with a code (akshare's tables are per stock: save each as 600000.csv or "
            "600000_rights.csv)"
        )
    return pd.Series(code, index=table.index, dtype="string")


def _unsplit(kept: pd.DataFrame, out: pd.DataFrame, layout: ActionLayout, source: str) -> list[str]:
    """Rows that give only the total of bonus and transferred shares (tushare's stk_div,
    East Money's 送转总比例): taken as transferred shares (转增, not taxed), counted in a
    note; a split that does not add up to the total is an error."""
    total = (to_float(kept.assign(_row=out["_row"]), layout.total).fillna(0.0) / layout.per).round(
        10
    )
    bonus = out["bonus"] if "bonus" in out.columns else pd.Series(np.nan, index=out.index)
    transfer = out["transfer"] if "transfer" in out.columns else pd.Series(np.nan, index=out.index)
    unsplit = (total > 0) & bonus.isna() & transfer.isna()
    split = bonus.fillna(0.0) + transfer.fillna(0.0)
    fail_where(
        out.assign(date=out.get("ex_date")),
        ((total > 0) & ~unsplit & ((split - total).abs() > 1e-6)).to_numpy(),
        f"the bonus and transferred shares do not add up to {layout.total}",
    )
    if not unsplit.any():
        return []
    out.loc[unsplit, "transfer"] = total[unsplit]
    return [
        f"{source}: {int(unsplit.sum())} rows give only {layout.total} (bonus and transferred "
        "shares together): taken as transferred shares (转增, not taxed)"
    ]


def _with_format(frame: pd.DataFrame, column: str, date_format: str) -> pd.Series:
    """A text date column of a known format as datetime64 (blank: NaT); a text that does
    not match is an error naming the row."""
    raw = frame[column]
    if pd.api.types.is_datetime64_any_dtype(raw):
        return raw
    text = raw.astype("string").str.strip().str.replace(r"\.0$", "", regex=True)
    blank = text.isna() | text.str.lower().isin(["", "nan", "nat", "none"])
    parsed = pd.to_datetime(text.where(~blank), format=date_format, errors="coerce")
    fail_where(
        frame.assign(date=raw),
        (parsed.isna() & ~blank).to_numpy(),
        f"{column} is not a date of the form {date_format}",
    )
    return parsed
