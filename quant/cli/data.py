"""``quant data ...``: look at market data, download it with akshare, import it from the
layouts people hold (akshare, tushare, baostock, qlib), or generate a synthetic market."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import sys
from pathlib import Path

from quant.errors import UserError

log = logging.getLogger(__name__)


def register(commands: argparse._SubParsersAction) -> None:
    data = commands.add_parser("data", help="inspect, fetch or generate market data")
    actions = data.add_subparsers(dest="action", required=True, metavar="ACTION")
    info = actions.add_parser("info", help="summary of a data source")
    info.add_argument(
        "--data", default="sample", help="'sample' (built-in) or a Parquet/CSV file or folder"
    )
    info.add_argument("--json", action="store_true", help="print the summary as JSON")
    add_market_options(info)
    info.set_defaults(run=run_info)
    _register_fetch(actions)
    _register_update(actions)
    _register_import(actions)
    _register_synth(actions)


def _register_fetch(actions: argparse._SubParsersAction) -> None:
    from quant.data.store import DEFAULT_PAUSE, DEFAULT_RETRIES

    fetch = actions.add_parser(
        "fetch",
        help="download daily bars with akshare into a store (resumable)",
        description="Download daily bars from East Money through akshare into a store folder "
        "(one Parquet file per code and a manifest). A second call asks only for what the "
        "store lacks; an interrupted call resumes where it stopped.",
    )
    which = fetch.add_mutually_exclusive_group(required=True)
    which.add_argument("--codes", nargs="+", metavar="CODE", help="e.g. 600000 000001.SZ")
    which.add_argument(
        "--all", action="store_true", help="every listed and delisted A-share (stocks only)"
    )
    fetch.add_argument(
        "--index", action="store_true", help="the codes are indices, e.g. 000300.SH 399001.SZ"
    )
    fetch.add_argument("--start", required=True, type=_date, help="first date, YYYY-MM-DD")
    fetch.add_argument(
        "--end", type=_date, default=None, help="last date (default: the last complete day)"
    )
    fetch.add_argument("--store", required=True, type=Path, help="the store folder")
    fetch.add_argument(
        "--pause",
        type=float,
        default=DEFAULT_PAUSE,
        help=f"seconds between requests (default {DEFAULT_PAUSE}; East Money blocks rapid ones)",
    )
    fetch.add_argument(
        "--retries",
        type=int,
        default=DEFAULT_RETRIES,
        help=f"retries of a failed request, with doubling waits (default {DEFAULT_RETRIES})",
    )
    fetch.add_argument(
        "--retry-empty", action="store_true", help="ask again for codes that came back empty"
    )
    fetch.set_defaults(run=run_fetch)


def _register_update(actions: argparse._SubParsersAction) -> None:
    from quant.data.store import DEFAULT_PAUSE, DEFAULT_RETRIES

    update = actions.add_parser(
        "update",
        help="bring a store up to the last session whose bars are final",
        description="An akshare store asks only for the sessions each code lacks (new "
        "listings too, for a store fetched with --all); an imported store reads its source "
        "files again, new files with them. The store is then checked as any data is. A "
        "session's bars are final at 16:00 Beijing time.",
    )
    update.add_argument("--store", required=True, type=Path, help="the store folder")
    update.add_argument(
        "--pause",
        type=float,
        default=DEFAULT_PAUSE,
        help=f"akshare: seconds between requests (default {DEFAULT_PAUSE})",
    )
    update.add_argument(
        "--retries",
        type=int,
        default=DEFAULT_RETRIES,
        help=f"akshare: retries of a failed request (default {DEFAULT_RETRIES})",
    )
    update.set_defaults(run=run_update)


def _register_import(actions: argparse._SubParsersAction) -> None:
    from quant.data.readers import FORMATS, QLIB_VOLUMES

    command = actions.add_parser(
        "import",
        help="convert akshare, tushare, baostock or qlib files into a store (offline)",
        description="Read daily bars in a known layout, map names, codes, units and dates "
        "into the tidy schema, check them as any data is checked, and write a store folder "
        "(one Parquet file per code and a manifest) that --data reads. See "
        "docs/data_sources.md for each layout's mapping. With --corporate-actions: read "
        "dividend and rights tables (tushare, baostock, akshare; the layout is known by the "
        "columns) and write one checked corporate-actions table (--out FILE.parquet or .csv) "
        "that --corporate-actions reads (docs/corporate_actions.md).",
    )
    command.add_argument(
        "source",
        type=Path,
        nargs="+",
        metavar="SRC",
        help="files or folders of files (e.g. tushare's daily.csv adj_factor.csv), or a qlib "
        "data folder",
    )
    command.add_argument(
        "--format", choices=FORMATS, help="the layout of SRC (bars; corporate actions: by columns)"
    )
    command.add_argument(
        "--out",
        required=True,
        type=Path,
        help="the store folder (new or empty); with --corporate-actions a .parquet or .csv file",
    )
    command.add_argument(
        "--corporate-actions",
        action="store_true",
        help="SRC are corporate-action tables (tushare dividend, baostock query_dividend_data, "
        "akshare's Sina, cninfo or East Money tables, or our tidy schema)",
    )
    command.add_argument(
        "--encoding", default=None, help="encoding of CSV files (default: UTF-8, else GBK)"
    )
    command.add_argument(
        "--date-format",
        default=None,
        help="strptime format of text dates, e.g. %%d/%%m/%%Y; needed for day- or month-first "
        "dates such as 03/01/2017",
    )
    command.add_argument(
        "--index", action="store_true", help="the bars are indices (codes name their exchange)"
    )
    command.add_argument(
        "--qlib-volume",
        choices=QLIB_VOLUMES,
        default=None,
        help="qlib only: volume is adjusted (raw = volume x factor) or raw shares; by default "
        "measured from the data (ex-rights days, amounts), refused when the data does not show it",
    )
    command.set_defaults(run=run_import)


def _register_synth(actions: argparse._SubParsersAction) -> None:
    synth = actions.add_parser(
        "synth",
        help="generate a synthetic A-share-like market (for scale tests)",
        description="Generate a seeded synthetic market in the tidy schema, with listings, "
        "delistings, suspensions, ex-rights days and limit moves. Synthetic prices are for "
        "scale tests only.",
    )
    synth.add_argument("--stocks", type=int, default=5000, help="number of stocks (N)")
    synth.add_argument("--days", type=int, default=2500, help="number of trading days (T)")
    synth.add_argument("--seed", type=int, default=0, help="random seed")
    synth.add_argument("--start", type=_date, default=None, help="first trading day")
    synth.add_argument("--out", required=True, type=Path, help="output folder")
    synth.add_argument(
        "--qlib",
        action="store_true",
        help="write a qlib data folder (as qlib's dump_bin writes it: adjusted prices, raw "
        "volume, suspended days padded with flat bars) instead of tidy Parquet",
    )
    synth.set_defaults(run=run_synth)


def add_market_options(parser: argparse.ArgumentParser) -> None:
    """The options that say how bars become a panel (shared by data info and backtest)."""
    parser.add_argument(
        "--calendar",
        choices=("exchange", "data"),
        help="trading days: the exchange's sessions (XSHG, default) or the data's own dates",
    )
    parser.add_argument(
        "--code-changes",
        metavar="FILE",
        help="CSV of old_code,new_code,date: merge re-coded securities under the new code",
    )
    parser.add_argument(
        "--drop-non-stocks",
        action="store_true",
        help="drop indices, funds, bonds and B shares found in stock data (default: an error)",
    )
    parser.add_argument(
        "--corporate-actions",
        metavar="FILE",
        help="a corporate-actions table (dividends, bonus shares, rights issues; tidy, tushare, "
        "baostock or akshare layout): applied as they happen instead of the adj_factor ratio",
    )


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date (YYYY-MM-DD)") from None


# -- info --------------------------------------------------------------------------------


def describe(
    source: str,
    calendar: str = "exchange",
    code_changes: str | None = None,
    drop_non_stocks: bool = False,
    corporate_actions: str | None = None,
) -> dict[str, object]:
    """The figures `quant data info` prints for stock or index data; a store or synthetic
    folder adds what its manifest says (survivor bias, how the market was generated, where
    it was imported from). ``notes``: what the data approximates and what the intake found
    (quant.data.notes); ``warnings``: what the checks across the panel found."""
    from quant.data import load_panel
    from quant.data.manifest import manifest_of
    from quant.data.notes import approximation_notes, survivorship, warning_notes
    from quant.data.store import survivorship as store_survivorship

    panel = load_panel(
        source,
        kind="any",
        calendar=calendar,
        code_changes=code_changes,
        non_stocks="drop" if drop_non_stocks else "error",
    )
    kind = "stock" if (panel.board != "").any() else "index"
    summary: dict[str, object] = {"source": str(source), "kind": kind, **panel.summary()}
    if kind == "stock":
        summary["code_changes"] = list(panel.code_changes)
        candidates = panel.code_change_candidates
        summary["possible_code_changes"] = candidates.to_dict("records")
        measured = survivorship(panel)
        summary["survivorship"] = {
            "codes_ending_early": measured.ended,
            "codes_suspended_at_end": measured.suspended,
            "share_ending_early": measured.share,
            "exchanges_delisted_at_least": round(measured.delisted, 1),
            "expected_share_at_least": measured.expected_share,
            "judged": measured.judged,
            "survivors_only": measured.survivors_only,
            "line": measured.line(),
        }
        outside = panel.outside_band
        summary["outside_band"] = {
            "bars": len(outside),
            "limit_kept": int(outside["limit_kept"].sum()) if len(outside) else 0,
            "examples": [
                {"code": row.code, "date": row.date.date().isoformat(), "reason": row.reason}
                for row in outside.sort_values("limit_kept", ascending=False, kind="stable")
                .head(10)
                .itertuples()
            ],
        }
    manifest = manifest_of(source)
    if manifest is not None and manifest.get("kind") == "synthetic":
        summary["synthetic"] = {k: manifest[k] for k in ("seed", "stocks", "days", "delisted")}
    elif manifest is not None and "imported" in manifest:
        summary["imported"] = manifest["imported"]
    elif manifest is not None:
        summary["store"] = {"kind": manifest["kind"], **store_survivorship(manifest)}
    summary["notes"] = [*approximation_notes(panel), *panel.notes]
    summary["warnings"] = warning_notes(panel)
    if corporate_actions:
        summary["corporate_actions"] = _actions_summary(corporate_actions, panel)
    return summary


def _actions_summary(source: str, panel: object) -> dict[str, object]:
    """What ``data info --corporate-actions`` says of a table checked against the data."""
    from quant.data.actions import check_against, load_actions

    table = load_actions(source)
    check = check_against(table, panel)
    return {
        "source": source,
        "layouts": list(table.layouts),
        "rows": len(table),
        "codes": int(table.frame["code"].nunique()),
        "kinds": table.kinds(),
        "ex_dates": [
            str(d.date()) for d in (table.frame["ex_date"].min(), table.frame["ex_date"].max())
        ]
        if len(table)
        else [],
        "rows_in_data": check.rows,
        "codes_not_in_data": check.other_codes,
        "ratio_mismatches": len(check.mismatches),
        "factor_changes_without_row": len(check.unexplained),
        "notes": [*table.notes, *check.notes(source)],
    }


def run_info(args: argparse.Namespace) -> int:
    summary = describe(
        args.data,
        args.calendar or "exchange",
        args.code_changes,
        args.drop_non_stocks,
        args.corporate_actions,
    )
    print(json.dumps(summary, indent=2, default=str) if args.json else format_summary(summary))
    for line in summary["warnings"]:
        print(f"warning: {line}", file=sys.stderr)
    return 0


def format_summary(summary: dict[str, object]) -> str:
    lines = [
        f"source                  {summary['source']}",
        f"codes                   {summary['codes']:,} {_kinds(summary)}",
        f"dates                   {summary['first_date']} .. {summary['last_date']} "
        f"({summary['trading_days']:,} sessions, calendar {summary['calendar']})",
        f"rows                    {summary['rows']:,}",
        f"suspended stock-days    {summary['suspended_share']:.2%} of listed stock-days",
        f"zero-volume bars        {summary['zero_volume_bars']:,}",
        f"codes without adj_factor {summary['codes_without_adj_factor']:,} (adjusted = raw)",
        f"codes ending early      {summary['codes_ending_early']:,} "
        "(last bar before the data's last day: delisted or suspended)",
    ]
    if summary["kind"] == "stock":
        st_days = summary["st_stock_days"]
        lines.append(
            "ST stock-days           "
            + (
                f"{st_days:,} (risk-warning limits applied)"
                if st_days is not None
                else "unknown: no is_st column, ST stocks get their board's normal limit"
            )
        )
        lines += _code_change_lines(summary)
        lines.append(f"survivorship measured   {summary['survivorship']['line']}")
        outside = summary["outside_band"]
        if outside["bars"]:
            shown = "; ".join(
                f"{e['code']} {e['date']} ({e['reason']})" for e in outside["examples"][:3]
            )
            lines.append(
                f"outside the limit band  {outside['bars']:,} bars ({outside['limit_kept']:,} "
                f"keep their limit): {shown}{'; ...' if outside['bars'] > 3 else ''}"
            )
    lines += [f"note                    {note}" for note in summary["notes"]]
    if "synthetic" in summary:
        made = summary["synthetic"]
        lines.append(
            f"synthetic market        seed {made['seed']}, {made['stocks']:,} stocks x "
            f"{made['days']:,} days, {made['delisted']:,} delisted: not real prices"
        )
    if "store" in summary:
        lines.append(f"survivorship            {_survivorship_line(summary['store'])}")
    if "imported" in summary:
        made = summary["imported"]
        lines.append(
            f"imported                from {made['format']} files at {made['from']} ({made['at']})"
        )
    if "corporate_actions" in summary:
        lines += _actions_lines(summary["corporate_actions"])
    return "\n".join(lines)


def _actions_lines(actions: dict) -> list[str]:
    kinds = ", ".join(f"{kind} {count:,}" for kind, count in actions["kinds"].items() if count)
    span = " .. ".join(actions["ex_dates"]) or "none"
    return [
        f"corporate actions       {actions['rows']:,} rows of {actions['codes']:,} codes "
        f"({', '.join(actions['layouts'])}; {kinds}; ex dates {span}) from {actions['source']}",
        f"  against the data      {actions['rows_in_data']:,} rows of its codes and days; "
        f"{actions['codes_not_in_data']:,} codes it lacks; {actions['ratio_mismatches']:,} rows "
        "whose ratio differs from the adj_factor's change; "
        f"{actions['factor_changes_without_row']:,} factor changes without a row (between "
        "each code's first and last ex date: a table need not cover every year)",
        *(f"  note                  {note}" for note in actions["notes"]),
    ]


def _kinds(summary: dict[str, object]) -> str:
    if summary["kind"] == "index":
        return "(indices)"
    boards = ", ".join(f"{board} {count:,}" for board, count in summary["boards"].items())
    return f"(A-share stocks: {boards})"


def _code_change_lines(summary: dict[str, object]) -> list[str]:
    lines = [
        f"code changes merged     {c['old']} -> {c['new']} from {c['date']}"
        for c in summary["code_changes"]
    ]
    possible = summary["possible_code_changes"]
    if possible:
        shown = "; ".join(
            f"{c['old']} ({c['last_date']}, {c['last_close']:.2f}) -> {c['new']} "
            f"({c['first_date']}, open {c['first_open']:.2f})"
            for c in possible[:3]
        )
        lines.append(
            f"possible code changes   {len(possible):,}: a code's bars stop and another's start "
            f"the next session within 5 % of its last close ({shown}"
            f"{'; ...' if len(possible) > 3 else ''}). Most are coincidences (an IPO beside a "
            "suspension); name real ones with --code-changes FILE"
        )
    return lines


def _survivorship_line(store: dict[str, object]) -> str:
    empty = store["empty_codes"]
    parts = []
    if empty:
        examples = ", ".join(store["empty_examples"]) + (", ..." if empty > 5 else "")
        parts.append(f"{empty:,} codes came back empty ({examples})")
    if "delisted_codes" in store:
        parts.append(
            f"{store['delisted_with_bars']:,} of {store['delisted_codes']:,} delisted codes "
            "have bars"
        )
    facts = "; ".join(parts)
    if store["survivor_biased"]:
        return (
            f"SURVIVOR-BIASED: {facts}. akshare has no history for most delisted stocks, "
            "so backtests on this universe overstate returns."
        )
    if store["survivor_biased"] is None:
        return (
            "unknown: codes chosen by hand, none came back empty; whether delisted stocks "
            "are missing depends on how they were chosen"
        )
    return f"no known gaps: {facts}"


# -- fetch -------------------------------------------------------------------------------


def run_fetch(args: argparse.Namespace) -> int:
    from quant.data.akshare_source import Akshare, normalize_code
    from quant.data.store import Store, Throttle, last_complete_day

    if args.all and args.index:
        raise UserError("--all lists stocks only; name indices with --codes")
    if args.pause < 1.0:
        log.warning("a pause under 1 s gets an IP blocked by East Money within minutes")
    try:
        throttle = Throttle(pause=args.pause, retries=args.retries)
    except ValueError as error:
        raise UserError(str(error)) from None
    client = Akshare(call=throttle)
    store = Store.open(args.store, "index" if args.index else "stocks")
    end = args.end or last_complete_day()
    if args.all:
        report = store.fetch_all(args.start, end, client, retry_empty=args.retry_empty)
    else:
        codes = sorted({normalize_code(c, index=args.index) for c in args.codes})
        report = store.fetch(codes, args.start, end, client, retry_empty=args.retry_empty)
    print(
        f"{report.requested:,} codes: {report.fetched:,} fetched ({report.new_rows:,} new "
        f"bars, {report.empty:,} empty), {report.up_to_date:,} already up to date; "
        f"{report.requests:,} requests. Store: {args.store}"
    )
    return 0


# -- update ------------------------------------------------------------------------------


def run_update(args: argparse.Namespace) -> int:
    from quant.data.akshare_source import Akshare
    from quant.data.store import Throttle
    from quant.data.update import update_store

    try:
        throttle = Throttle(pause=args.pause, retries=args.retries)
    except ValueError as error:
        raise UserError(str(error)) from None
    print(update_store(args.store, client=Akshare(call=throttle)).line)
    return 0


# -- import ------------------------------------------------------------------------------


def run_import(args: argparse.Namespace) -> int:
    from quant.data import load_panel
    from quant.data.readers import ReadOptions
    from quant.data.store import write_imported

    if args.corporate_actions:
        return _import_actions(args)
    if args.format is None:
        raise UserError("quant data import: --format is required for bars (the layout of SRC)")
    options = ReadOptions(
        encoding=args.encoding,
        date_format=args.date_format,
        index=args.index,
        qlib_volume=args.qlib_volume,
    )
    sources = args.source[0] if len(args.source) == 1 else args.source
    panel = load_panel(
        sources, kind="index" if args.index else "stock", format=args.format, options=options
    )
    imported = {
        "format": args.format,
        "from": ", ".join(str(path.resolve()) for path in args.source),
        "paths": [str(path.resolve()) for path in args.source],  # quant data update reads them
        "options": {
            k: v
            for k, v in vars(options).items()
            if v not in (None, False) and (k != "qlib_volume" or args.format == "qlib")
        },
    }
    try:
        write_imported(panel, args.out, kind="index" if args.index else "stocks", imported=imported)
    except FileExistsError as error:
        raise UserError(f"{error}: choose a new or empty folder for --out") from None
    print(
        f"{len(panel.codes):,} codes, {int(panel.has_bar.sum()):,} bars "
        f"({panel.dates[0].date()} .. {panel.dates[-1].date()}) from "
        f"{', '.join(map(str, args.source))} ({args.format}) -> {args.out}"
    )
    for note in panel.notes:
        print(f"note: {note}")
    return 0


def _import_actions(args: argparse.Namespace) -> int:
    """``quant data import --corporate-actions SRC... --out FILE``: one checked table."""
    from quant.data.actions import load_actions, write_actions

    table = load_actions(args.source, encoding=args.encoding)
    found = {layout.split("_")[0] for layout in table.layouts}
    if args.format is not None and found != {args.format}:
        raise UserError(
            f"--format {args.format}: the files are {', '.join(table.layouts)} corporate-action "
            "tables (their layout is known by their columns; leave out --format)"
        )
    write_actions(table, args.out)
    kinds = ", ".join(f"{kind} {count:,}" for kind, count in table.kinds().items() if count)
    print(
        f"{len(table):,} corporate actions of {table.frame['code'].nunique():,} codes ({kinds}) "
        f"from {', '.join(map(str, args.source))} ({', '.join(table.layouts)}) -> {args.out}"
    )
    for note in table.notes:
        print(f"note: {note}")
    return 0


# -- synth -------------------------------------------------------------------------------


def run_synth(args: argparse.Namespace) -> int:
    from quant.data import synth

    options = {"start": args.start.isoformat()} if args.start else {}
    try:
        market = synth.generate(args.stocks, args.days, args.seed, progress=None, **options)
        (synth.write_qlib if args.qlib else synth.write)(market, args.out)
    except (ValueError, FileExistsError) as error:
        raise UserError(str(error)) from None
    rows = int(market.has_bar.sum())
    print(
        f"{len(market.codes):,} stocks x {len(market.dates):,} days "
        f"({market.dates[0].date()} .. {market.dates[-1].date()}), {rows:,} bars, seed "
        f"{args.seed} -> {args.out}"
    )
    return 0
