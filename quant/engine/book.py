"""The book's state beyond cash and positions, in one place: everything the corporate
actions and the dividend tax need to carry from one session to the next, as plain data
(dataclasses of dates, numbers and codes) on the broker (``AShareBroker.book``), so that a
run can stop after a session and go on from it (:meth:`BookState.to_dict` and
:meth:`BookState.from_dict` give it as JSON-ready values).

- ``lots``: per code, the shares acquired on each day, oldest first (the FIFO lots of the
  dividend tax, 财税〔2012〕85号 art. 3: per account, net of each day's trades), each with
  the dividend income its shares received and the tax withheld on it;
- ``entitlements``: actions whose record date has passed, waiting for their ex date (and
  a rights issue for its payment);
- ``receivables``: cash dividends past their ex date, waiting for their pay date (counted
  in equity);
- ``locked``: new shares (bonus, transferred, rights) credited but not yet listed (not
  sellable);
- ``traded``: today's net shares bought (> 0) or sold (< 0) per code, settled into the
  lots after the session (empty between sessions).

Cash and positions stay backtrader's (the broker's ``cash`` and ``positions``).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any

import pandas as pd


@dataclass
class Income:
    """Dividend income one share of a lot received: ``per_share`` yuan before tax (cash,
    plus the par value of bonus shares), ``withheld`` yuan of tax withheld when paid, under
    the rules of ``record_date`` (quant.market.dividend_tax)."""

    record_date: pd.Timestamp
    per_share: float
    withheld: float


@dataclass
class Lot:
    """``shares`` of one stock acquired on ``acquired`` (bought, or credited as bonus,
    transferred or rights shares), and the dividend income each of them received."""

    acquired: pd.Timestamp
    shares: float
    income: list[Income] = field(default_factory=list)


@dataclass
class Entitlement:
    """A corporate action a holding was entitled to at the close of ``record_date``:
    ``shares`` held then; per share ``cash`` (yuan before tax), ``bonus`` and ``transfer``
    shares, ``rights`` offered at ``rights_price``. Dates: ``ex_date``; ``pay_date`` (the
    dividend's payment, or the rights' first payment day); ``listing_date`` (new shares
    sellable). A rights issue once paid holds ``subscribed`` shares and ``paid`` yuan."""

    code: str
    record_date: pd.Timestamp
    ex_date: pd.Timestamp
    pay_date: pd.Timestamp
    listing_date: pd.Timestamp
    shares: float
    cash: float = 0.0
    bonus: float = 0.0
    transfer: float = 0.0
    rights: float = 0.0
    rights_price: float = 0.0
    paid: float = 0.0
    subscribed: float = 0.0
    decided: bool = False


@dataclass
class Receivable:
    """A cash dividend of ``code`` past its ex date: ``amount`` yuan after the tax
    withheld (``withheld`` yuan), paid on ``pay_date``."""

    code: str
    pay_date: pd.Timestamp
    amount: float
    withheld: float
    shares: float


@dataclass
class Locked:
    """``shares`` of ``code`` credited but not sellable before ``until`` (their listing)."""

    code: str
    until: pd.Timestamp
    shares: float


@dataclass
class BookState:
    """See the module. ``lots`` is kept only in runs with a corporate-actions table (the
    dividend tax needs it); ``traded`` is empty between sessions."""

    lots: dict[str, list[Lot]] = field(default_factory=dict)
    entitlements: list[Entitlement] = field(default_factory=list)
    receivables: list[Receivable] = field(default_factory=list)
    locked: list[Locked] = field(default_factory=list)
    traded: dict[str, float] = field(default_factory=dict)

    def pending_value(self) -> float:
        """Yuan the book is owed: dividends past their ex date not yet paid, and rights
        paid for whose shares are not yet credited (at what was paid)."""
        return sum(r.amount for r in self.receivables) + sum(e.paid for e in self.entitlements)

    def locked_shares(self, code: str) -> float:
        """Shares of ``code`` not yet sellable."""
        return sum(lock.shares for lock in self.locked if lock.code == code)

    def to_dict(self) -> dict[str, Any]:
        """The state as JSON-ready values (dates as YYYY-MM-DD)."""
        return _plain(asdict(self))

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> BookState:
        """The state :meth:`to_dict` gave."""
        lots = {
            code: [
                Lot(
                    pd.Timestamp(lot["acquired"]),
                    float(lot["shares"]),
                    [_of(Income, income) for income in lot["income"]],
                )
                for lot in code_lots
            ]
            for code, code_lots in values.get("lots", {}).items()
        }
        return cls(
            lots=lots,
            entitlements=[_of(Entitlement, e) for e in values.get("entitlements", [])],
            receivables=[_of(Receivable, r) for r in values.get("receivables", [])],
            locked=[_of(Locked, lock) for lock in values.get("locked", [])],
            traded={k: float(v) for k, v in values.get("traded", {}).items()},
        )


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, pd.Timestamp):
        return value.date().isoformat()
    return value


def _of(kind: type, values: dict[str, Any]) -> Any:
    """A dataclass of ``kind`` from plain values (its Timestamp fields from text)."""
    typed = {}
    for spec in fields(kind):
        value = values[spec.name]
        typed[spec.name] = pd.Timestamp(value) if "Timestamp" in str(spec.type) else value
    return kind(**typed)
