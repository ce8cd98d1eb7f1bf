"""The registry of fact kinds, in the shape of urlwatch's job kinds: a kind is a subclass of
`FactKind` with a `__kind__` name, registered when its module (one per kind, in this package) is
imported. Everything that handles facts in general iterates over `kinds()`: the facts stage, the
store, `dxwatch facts`, `export`, the digest's sections and the alerts' items.

A kind declares:

- `__kind__`: its name in the code ("figures", "references", "instructions");
- `table` and `columns`: where it is stored (`key` first: the same fact across articles has the
  same key) and `in_documents` when attached files are read for it too;
- `extract(title, text, province)`: the fact rows of one article, before merging by key;
- `describe(fact)`: one line for `dxwatch facts`;
- `digest_section`, `digest_label`, `ledger_item`: its section of a digest, the Vietnamese count
  word in the subject ("2 văn bản"), and the `delivered_items.item_type` that records it as sent;
- `alert_item`: the `items:` value of an alert rule that asks for it;
- `description`: what it is, for the docs and `--help`.

The table names and the export field names (`figures`, `directives`, `instructions`) are a public
interface (users query the database and read the export), so they stay as they are: the kind
"references" (documents cited in text) is stored in the table `directives`.
"""

from __future__ import annotations

import importlib
import pkgutil
from functools import cache
from typing import ClassVar

_REGISTRY: dict[str, type[FactKind]] = {}


class FactKind:
    __kind__: ClassVar[str]
    order: ClassVar[int]                    # place in the digest, the export and `dxwatch facts`
    table: ClassVar[str]
    columns: ClassVar[tuple[str, ...]]      # stored columns, `key` first
    in_documents: ClassVar[bool] = False
    digest_section: ClassVar[str]
    digest_label: ClassVar[str]
    ledger_item: ClassVar[str]
    alert_item: ClassVar[str]
    description: ClassVar[str]

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if "__kind__" in cls.__dict__:
            if cls.__kind__ in _REGISTRY:
                raise TypeError(f"fact kind {cls.__kind__!r} is defined twice")
            if cls.columns[0] != "key":
                raise TypeError(f"fact kind {cls.__kind__!r}: `key` must be its first column")
            _REGISTRY[cls.__kind__] = cls

    def extract(self, title: str | None, text: str | None, province: str | None) -> list[dict]:
        raise NotImplementedError

    def describe(self, fact: dict) -> str:
        return " · ".join(str(fact[c]) for c in self.columns[1:] if fact.get(c) not in (None, ""))


@cache
def kinds() -> tuple[FactKind, ...]:
    """Every registered kind, in `order`; the kind modules of this package are imported first."""
    for module in pkgutil.iter_modules(__path__):
        importlib.import_module(f"{__name__}.{module.name}")
    return tuple(cls() for cls in sorted(_REGISTRY.values(), key=lambda c: c.order))


def by_table(table: str) -> FactKind:
    return next(k for k in kinds() if k.table == table)


def by_name(name: str) -> FactKind:
    """The kind called `name` (`__kind__`), or stored in the table `name` (the public name:
    `dxwatch facts --kind directives` is the kind `references`); KeyError otherwise."""
    for kind in kinds():
        if name in (kind.__kind__, kind.table):
            return kind
    raise KeyError(name)


def tables() -> dict[str, tuple[str, ...]]:
    """`{table: columns}` of every kind: what the data layer is asked to read and write."""
    return {k.table: k.columns for k in kinds()}
