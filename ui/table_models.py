"""Table models for entity lists: one `RowTableModel` over a list of frozen rows (the dataclasses
the services return) described by `Column`s, and a `RowFilterProxy` for filter-as-you-type over
several columns and for sorting.

Built for large lists (20,000 participants): the model keeps one lower-cased search text per row
and computes the filter mask in one pass over plain Python strings; the proxy only looks the mask
up. Sorting is done by the source model with a Python key sort (a C++ proxy sort would call back
into Python for every comparison).

Usage:

    columns = [Column("name", N_("Name"), lambda r: r.name, searchable=True), ...]
    model = RowTableModel(columns)
    proxy = RowFilterProxy(); proxy.setSourceModel(model)
    view.setModel(proxy); view.setSortingEnabled(True)
    model.set_rows(rows); proxy.set_filter_text("ann")
"""

from __future__ import annotations

import unicodedata
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time
from functools import lru_cache
from itertools import compress
from typing import Any

from PySide6.QtCore import (
    QAbstractItemModel,
    QAbstractTableModel,
    QModelIndex,
    QPersistentModelIndex,
    Qt,
)

from app.i18n import _, current_language, format_date, format_decimal
from app.i18n import sort_key as text_sort_key

ROW_ROLE = Qt.ItemDataRole.UserRole + 1  # the row object itself
ID_ROLE = Qt.ItemDataRole.UserRole + 2  # the row's id
SORT_ROLE = Qt.ItemDataRole.UserRole + 3  # the raw value used to sort

def sort_key(value: Any) -> tuple:
    """A key that orders None last, numbers and dates naturally and text the Swedish way
    (app/i18n.py's one collation: a-z, å, ä, ö), case-insensitively."""
    if value is None or value == "":
        return (1, 0)
    if isinstance(value, str):
        return (0, text_sort_key(value))
    if isinstance(value, bool):
        return (0, int(value))
    return (0, value)


@lru_cache(maxsize=8)
def _short_date_pattern(lang: str) -> str | None:
    """babel's short date pattern as a str.format pattern (formatting 20,000 dates through babel
    takes a second); None when the pattern is not a simple y/M/d one."""
    from babel import Locale

    from app.i18n import locale_name

    pattern = Locale.parse(locale_name(lang)).date_formats["short"].pattern
    converted = (
        pattern.replace("yyyy", "y").replace("y", "{0.year:04d}").replace("MM", "{0.month:02d}").replace("dd", "{0.day:02d}")
    )
    sample = date(2031, 11, 23)
    if "{" not in converted or converted.format(sample) != format_date(sample, lang=lang):
        return None
    return converted


@lru_cache(maxsize=65536)
def _date_text(value: date, lang: str) -> str:
    pattern = _short_date_pattern(lang)
    return pattern.format(value) if pattern else format_date(value, lang=lang)


def display_text(value: Any) -> str:
    """The default cell text of a value in the current language."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "\u2713" if value else ""
    if isinstance(value, datetime):
        return _date_text(value.date(), current_language())
    if isinstance(value, date):
        return _date_text(value, current_language())
    if isinstance(value, time):
        return value.strftime("%H:%M")
    if isinstance(value, float):
        return format_decimal(value, 1)
    return str(value)


def display_texts(values: Iterable[Any]) -> list[str]:
    """`display_text` of many values; repeated values (dates, numbers) are formatted once."""
    cache: dict[Any, str] = {}
    out = []
    append = out.append
    for value in values:
        if value.__class__ is str:
            append(value)
            continue
        text = cache.get(value)
        if text is None:
            text = cache[value] = display_text(value)
        append(text)
    return out


@dataclass(frozen=True)
class Column:
    """One column: `header` is the English message (translated when shown), `value` gives the
    raw value of a row (used to sort), `text` the shown text (default: `display_text(value)`)."""

    key: str
    header: str
    value: Callable[[Any], Any]
    text: Callable[[Any], str] | None = None
    searchable: bool = False
    align_right: bool = False
    # extra text the filter matches besides the shown text (e.g. a date as YYYYMMDD)
    search: Callable[[Any], str] | None = None

    def search_text(self, row: Any) -> str:
        shown = self.text_of(row)
        return shown if self.search is None else f"{shown} {self.search(row)}"

    def search_texts(self, rows: Sequence[Any]) -> list[str]:
        """`search_text` of every row, in one pass (no per-cell method calls)."""
        if self.text is not None:
            shown = list(map(self.text, rows))
        else:
            shown = display_texts(map(self.value, rows))
        if self.search is None:
            return shown
        return [f"{a} {b}" for a, b in zip(shown, map(self.search, rows))]

    def text_of(self, row: Any) -> str:
        if self.text is not None:
            return self.text(row)
        return display_text(self.value(row))


_RECORD = "\u001e"  # between rows while folding the search texts in one call


def _fold(text: str) -> str:
    return unicodedata.normalize("NFC", text.casefold())


class RowTableModel(QAbstractTableModel):
    """A read-only table over a list of frozen rows, each with a unique key (default `row.id`)."""

    def __init__(self, columns: Sequence[Column], parent=None, key: Callable[[Any], str] = lambda r: r.id):
        super().__init__(parent)
        self.columns = list(columns)
        self._key = key
        self._rows: list[Any] = []
        self._positions: dict[str, int] = {}
        self._haystacks: list[str] = []
        self._filter_words: tuple[str, ...] = ()
        self._mask: list[bool] | None = None

    # --- Qt API -----------------------------------------------------------------------------

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.columns)

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        row_no, col_no = index.row(), index.column()
        if not (0 <= row_no < len(self._rows) and 0 <= col_no < len(self.columns)):
            return None
        row = self._rows[row_no]
        column = self.columns[col_no]
        if role == Qt.ItemDataRole.DisplayRole or role == Qt.ItemDataRole.AccessibleTextRole:
            return column.text_of(row)
        if role == Qt.ItemDataRole.TextAlignmentRole:
            if column.align_right:
                return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            return None
        if role == ROW_ROLE:
            return row
        if role == ID_ROLE:
            return self._key(row)
        if role == SORT_ROLE:
            value = column.value(row)
            return value if isinstance(value, (str, int, float)) else column.text_of(row)
        return None

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if role != Qt.ItemDataRole.DisplayRole:
            return None
        if orientation == Qt.Orientation.Horizontal:
            if 0 <= section < len(self.columns):
                return _(self.columns[section].header)
            return None
        return str(section + 1)

    def flags(self, index: QModelIndex | QPersistentModelIndex) -> Qt.ItemFlag:
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        return Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable | Qt.ItemFlag.ItemNeverHasChildren

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        if not 0 <= column < len(self.columns):
            return
        value = self.columns[column].value
        self.layoutAboutToBeChanged.emit()
        persistent = self.persistentIndexList()
        keyed = [(self._key(self._rows[p.row()]), p.column()) for p in persistent]
        order_index = sorted(
            range(len(self._rows)),
            key=lambda i: sort_key(value(self._rows[i])),
            reverse=order == Qt.SortOrder.DescendingOrder,
        )
        self._rows = [self._rows[i] for i in order_index]
        self._haystacks = [self._haystacks[i] for i in order_index] if self._haystacks else []
        if self._mask is not None:
            self._mask = [self._mask[i] for i in order_index]
        self._reindex()
        self.changePersistentIndexList(
            persistent, [self.index(self._positions[k], c) for k, c in keyed]
        )
        self.layoutChanged.emit()

    # --- rows -------------------------------------------------------------------------------

    def set_rows(self, rows: Iterable[Any]) -> None:
        """Replace every row (a reset: views lose their selection)."""
        self.beginResetModel()
        self._rows = list(rows)
        self._reindex()
        self._haystacks = []
        if any(c.searchable for c in self.columns):
            self._ensure_haystacks()
        self._recompute_mask()
        self.endResetModel()

    def update_rows(self, rows: Iterable[Any], removed_ids: Iterable[str] = ()) -> None:
        """Refresh only what changed: rows whose key is known are replaced in place, new rows are
        appended, `removed_ids` are taken out. Selection elsewhere is kept."""
        for key in set(removed_ids):
            pos = self._positions.get(key)
            if pos is None:
                continue
            self.beginRemoveRows(QModelIndex(), pos, pos)
            del self._rows[pos]
            if self._haystacks:
                del self._haystacks[pos]
            if self._mask is not None:
                del self._mask[pos]
            self._reindex()
            self.endRemoveRows()
        for row in rows:
            key = self._key(row)
            pos = self._positions.get(key)
            if pos is not None:
                self._rows[pos] = row
                if self._haystacks:
                    self._haystacks[pos] = self._haystack(row)
                if self._mask is not None:
                    self._mask[pos] = self._matches_row(pos)
                self.dataChanged.emit(self.index(pos, 0), self.index(pos, len(self.columns) - 1))
            else:
                pos = len(self._rows)
                self.beginInsertRows(QModelIndex(), pos, pos)
                self._rows.append(row)
                self._positions[key] = pos
                if self._haystacks:
                    self._haystacks.append(self._haystack(row))
                if self._mask is not None:
                    self._mask.append(self._matches_row(pos))
                self.endInsertRows()

    def merge_rows(self, rows: Iterable[Any]) -> int:
        """Make the model hold exactly `rows`, touching only rows that differ (frozen rows compare
        by value): changed rows are updated in place, new ones appended, missing ones removed.
        Keeps selection and sort position of the unchanged rows. Returns the number touched."""
        fresh = {self._key(r): r for r in rows}
        removed = [k for k in self._positions if k not in fresh]
        changed = [r for k, r in fresh.items() if k not in self._positions or self._rows[self._positions[k]] != r]
        if not self._rows and changed:
            self.set_rows(list(fresh.values()))
            return len(changed)
        self.update_rows(changed, removed)
        return len(changed) + len(removed)

    def rows(self) -> list[Any]:
        return list(self._rows)

    def row(self, position: int) -> Any:
        return self._rows[position]

    def position_of(self, key: str) -> int | None:
        return self._positions.get(key)

    def row_for(self, key: str) -> Any | None:
        pos = self._positions.get(key)
        return None if pos is None else self._rows[pos]

    def _reindex(self) -> None:
        self._positions = {self._key(r): i for i, r in enumerate(self._rows)}

    # --- filtering --------------------------------------------------------------------------

    def _haystack(self, row: Any) -> str:
        return _fold("\u0000".join(c.search_text(row) for c in self.columns if c.searchable))

    def _ensure_haystacks(self) -> None:
        if len(self._haystacks) == len(self._rows):
            return
        rows = self._rows
        columns = [c.search_texts(rows) for c in self.columns if c.searchable]
        # fold everything in one call: casefold/NFC over one long string instead of per row
        joined = _fold(_RECORD.join(map("\u0000".join, zip(*columns))))
        haystacks = joined.split(_RECORD) if rows else []
        if len(haystacks) != len(rows):  # a separator inside the data: per row
            haystacks = [self._haystack(r) for r in rows]
        self._haystacks = haystacks

    def _matches_row(self, pos: int) -> bool:
        self._ensure_haystacks()
        hay = self._haystacks[pos]
        return all(w in hay for w in self._filter_words)

    def _recompute_mask(self) -> None:
        words = self._filter_words
        if not words:
            self._mask = None
            return
        self._ensure_haystacks()
        if len(words) == 1:
            word = words[0]
            self._mask = [word in hay for hay in self._haystacks]
        else:
            self._mask = [all(w in hay for w in words) for hay in self._haystacks]

    def set_filter_text(self, text: str) -> None:
        """Every word of `text` must occur in one of the searchable columns (any case)."""
        words = tuple(_fold(text).split())
        if words == self._filter_words:
            return
        narrowing = (
            self._mask is not None
            and len(words) == len(self._filter_words)
            and all(new.find(old) >= 0 for new, old in zip(words, self._filter_words))
        )
        self._filter_words = words
        if narrowing and len(words) == 1:
            # typing one more letter: only rows that matched before can match now
            word, hays, mask = words[0], self._haystacks, self._mask
            self._mask = [m and word in h for m, h in zip(mask, hays)]
        else:
            self._recompute_mask()

    def accepts(self, position: int) -> bool:
        mask = self._mask
        return True if mask is None else mask[position]

    def filtering(self) -> bool:
        return self._mask is not None

    def shown_positions(self) -> list[int] | None:
        """The positions of the rows the filter accepts (ascending), or None for all."""
        mask = self._mask
        return None if mask is None else list(compress(range(len(mask)), mask))

    def matching_count(self) -> int:
        return len(self._rows) if self._mask is None else sum(self._mask)


_PERSISTENT_LIST = "QList<QPersistentModelIndex>"
_HINT_TYPE = QAbstractItemModel.LayoutChangeHint


class RowFilterProxy(QAbstractTableModel):
    """Filter-as-you-type and sorting for a RowTableModel, with the API of a sort/filter proxy
    (mapToSource, mapFromSource, sort, rowCount, data). The source does the work: it keeps a
    lower-cased search text per row and computes the filter mask; this proxy holds the list of
    the source rows shown (ascending, so the source's sort order is kept) and maps through it.

    A filter change is one layout change (selection and current row are kept when still shown)
    instead of a Python `filterAcceptsRow` call per source row. `sort()` is handed to the source
    model (one Python sort instead of a comparison callback per pair)."""

    _HINT = QAbstractItemModel.LayoutChangeHint.VerticalSortHint

    def __init__(self, parent=None):
        super().__init__(parent)
        self._text = ""
        self._model: RowTableModel | None = None
        self._shown: list[int] | None = None  # source rows shown, ascending; None: all
        self._saved: list[tuple[QPersistentModelIndex, QPersistentModelIndex]] = []
        self._pending_removal: tuple[int, int] | None = None

    # --- source -----------------------------------------------------------------------------

    def setSourceModel(self, model) -> None:  # noqa: N802 - Qt name
        if not isinstance(model, RowTableModel):
            raise TypeError("RowFilterProxy needs a RowTableModel")
        self.beginResetModel()
        if self._model is not None:
            for signal, slot in self._connections():
                signal.disconnect(slot)
        self._model = model
        for signal, slot in self._connections():
            signal.connect(slot)
        self._recompute()
        self.endResetModel()

    def _connections(self):
        m = self._model
        return [
            (m.modelAboutToBeReset, self.beginResetModel),
            (m.modelReset, self._on_reset),
            (m.layoutAboutToBeChanged, self._on_layout_about),
            (m.layoutChanged, self._on_layout),
            (m.dataChanged, self._on_data_changed),
            (m.rowsAboutToBeRemoved, self._on_rows_about_removed),
            (m.rowsRemoved, self._on_rows_removed),
            (m.rowsInserted, self._on_rows_inserted),
            (m.headerDataChanged, self._on_header_changed),
        ]

    def _on_header_changed(self, orientation, first: int, last: int) -> None:
        self.headerDataChanged.emit(orientation, first, last)

    def source(self) -> RowTableModel:
        assert self._model is not None
        return self._model

    def _recompute(self) -> None:
        self._shown = None if self._model is None else self._model.shown_positions()

    def _on_reset(self) -> None:
        self._recompute()
        self.endResetModel()

    def _on_layout_about(self, *_args) -> None:
        self.layoutAboutToBeChanged.emit()
        self._saved = []
        for proxy_index in self.persistentIndexList():
            source_index = self.mapToSource(proxy_index)
            self._saved.append((QPersistentModelIndex(proxy_index), QPersistentModelIndex(source_index)))

    def _on_layout(self, *_args) -> None:
        self._recompute()
        saved, self._saved = self._saved, []
        old = [QModelIndex(p) for p, _s in saved]
        new = [self.mapFromSource(QModelIndex(s)) if s.isValid() else QModelIndex() for _p, s in saved]
        self.changePersistentIndexList(old, new)
        self.layoutChanged.emit()

    def _on_data_changed(self, top_left: QModelIndex, bottom_right: QModelIndex, roles=()) -> None:
        model = self.source()
        changed_visibility = any(
            model.accepts(r) != (self._proxy_row(r) is not None) for r in range(top_left.row(), bottom_right.row() + 1)
        )
        if changed_visibility:
            # a row came into or went out of the filter: re-map (selection kept)
            self._on_layout_about()
            self._on_layout()
            return
        rows = [p for p in (self._proxy_row(r) for r in range(top_left.row(), bottom_right.row() + 1)) if p is not None]
        if rows:
            self.dataChanged.emit(
                self.index(min(rows), top_left.column()), self.index(max(rows), bottom_right.column()), roles
            )

    def _on_rows_about_removed(self, _parent, first: int, last: int) -> None:
        shown = self._shown
        if shown is None:
            lo, hi = first, last + 1
        else:
            lo, hi = bisect_left(shown, first), bisect_right(shown, last)
        self._pending_removal = (lo, hi) if hi > lo else None
        if self._pending_removal:
            self.beginRemoveRows(QModelIndex(), lo, hi - 1)

    def _on_rows_removed(self, _parent, first: int, last: int) -> None:
        removal, self._pending_removal = self._pending_removal, None
        if self._shown is not None:
            count = last - first + 1
            shown = self._shown
            cut = bisect_left(shown, first)
            self._shown = shown[:cut] + [r - count for r in shown[bisect_right(shown, last):]]
        if removal:
            self.endRemoveRows()

    def _on_rows_inserted(self, _parent, first: int, last: int) -> None:
        model = self.source()
        count = last - first + 1
        if self._shown is None and model.filtering():
            self._shown = [r for r in range(model.rowCount()) if not first <= r <= last]
        if self._shown is None:
            self.beginInsertRows(QModelIndex(), first, last)
            self.endInsertRows()
            return
        shown = self._shown
        cut = bisect_left(shown, first)
        added = [r for r in range(first, last + 1) if model.accepts(r)]
        if not added:
            self._shown = shown[:cut] + [r + count for r in shown[cut:]]
            return
        self.beginInsertRows(QModelIndex(), cut, cut + len(added) - 1)
        self._shown = shown[:cut] + added + [r + count for r in shown[cut:]]
        self.endInsertRows()

    # --- filter -----------------------------------------------------------------------------

    def set_filter_text(self, text: str) -> None:
        if text == self._text:
            return
        self._text = text
        model = self.source()
        self._on_layout_about()
        model.set_filter_text(text)
        self._on_layout()

    def filter_text(self) -> str:
        return self._text

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        self.source().sort(column, order)

    # --- Qt API -----------------------------------------------------------------------------

    def _proxy_row(self, source_row: int) -> int | None:
        shown = self._shown
        if shown is None:
            return source_row
        i = bisect_left(shown, source_row)
        return i if i < len(shown) and shown[i] == source_row else None

    def _source_row(self, proxy_row: int) -> int:
        return proxy_row if self._shown is None else self._shown[proxy_row]

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008
        if parent.isValid() or self._model is None:
            return 0
        return self._model.rowCount() if self._shown is None else len(self._shown)

    def columnCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008
        if parent.isValid() or self._model is None:
            return 0
        return self._model.columnCount()

    def sourceModel(self) -> RowTableModel | None:  # noqa: N802 - the proxy API
        return self._model

    def mapToSource(self, proxy_index: QModelIndex | QPersistentModelIndex) -> QModelIndex:  # noqa: N802
        if not proxy_index.isValid() or self._model is None:
            return QModelIndex()
        row = proxy_index.row()
        if not 0 <= row < self.rowCount():
            return QModelIndex()
        return self._model.index(self._source_row(row), proxy_index.column())

    def mapFromSource(self, source_index: QModelIndex | QPersistentModelIndex) -> QModelIndex:  # noqa: N802
        if not source_index.isValid():
            return QModelIndex()
        row = self._proxy_row(source_index.row())
        return QModelIndex() if row is None else self.createIndex(row, source_index.column())

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        return self._model.data(self.mapToSource(index), role) if self._model is not None else None

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole) -> Any:  # noqa: N802
        if self._model is None:
            return None
        if orientation == Qt.Orientation.Vertical:
            return str(section + 1) if role == Qt.ItemDataRole.DisplayRole else None
        return self._model.headerData(section, orientation, role)

    def flags(self, index: QModelIndex | QPersistentModelIndex) -> Qt.ItemFlag:
        return self._model.flags(self.mapToSource(index)) if self._model is not None else Qt.ItemFlag.NoItemFlags

    # --- conveniences for views -------------------------------------------------------------

    def row_at(self, proxy_row: int) -> Any:
        source_index = self.mapToSource(self.index(proxy_row, 0))
        return self.source().row(source_index.row())

    def proxy_row_of(self, key: str) -> int | None:
        pos = self.source().position_of(key)
        if pos is None:
            return None
        index = self.mapFromSource(self.source().index(pos, 0))
        return index.row() if index.isValid() else None
