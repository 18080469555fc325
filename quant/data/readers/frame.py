"""A tidy table already in memory as a source: ``MarketPanel.from_frame`` and
``load_bars(frame)`` read it through the same intake as any file. What ``load_bars``
recorded in the table's ``attrs`` (approximated amount, notes, code changes merged, codes
listed at the end) is carried over."""

from __future__ import annotations

from collections.abc import Iterator

import pandas as pd

from quant.data.readers.base import PIECE_ROWS, Reader
from quant.data.schema import OPTIONAL_COLUMNS
from quant.data.validate import prepare_columns

SOURCE = "table"


class FrameReader(Reader):
    """A tidy table (columns of the tidy schema, or prepared by prepare_columns)."""

    def __init__(self, frame: pd.DataFrame, name: str = SOURCE) -> None:
        super().__init__()
        self.frame = frame
        self.name = name
        attrs = frame.attrs
        if attrs.get("amount_approximated"):
            self.about.approximated.add("amount")
        self.about.notes += list(attrs.get("notes", ()))
        self.about.listed_at_end |= set(attrs.get("listed_at_end", ()))
        self.about.code_changes += list(attrs.get("code_changes", ()))
        self.optional = {c for c in OPTIONAL_COLUMNS if c in frame.columns}

    def pieces(self, codes: frozenset[str] | None = None) -> Iterator[pd.DataFrame]:
        frame = self.frame
        if codes is not None:
            frame = frame[frame["code"].astype(str).isin(codes)]
        if not len(frame):
            return
        prepared = prepare_columns(frame, self.name) if "_source" not in frame.columns else frame
        if "_amount_missing" not in prepared.columns:
            prepared = prepared.assign(_amount_missing=False)
        for start in range(0, len(prepared), PIECE_ROWS):
            yield prepared.iloc[start : start + PIECE_ROWS]
