"""The table-model base: a model over frozen rows, filter-as-you-type and sorting, checked with
pytest-qt's model tester and without a view."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QTableView
from pytestqt.modeltest import ModelTester

from ui.table_models import ID_ROLE, ROW_ROLE, Column, RowFilterProxy, RowTableModel, sort_key


@dataclass(frozen=True)
class Row:
    id: str
    name: str
    employer: str
    born: date | None
    count: int


COLUMNS = [
    Column("name", "Name", lambda r: r.name, searchable=True),
    Column("employer", "Employer", lambda r: r.employer, searchable=True),
    Column("born", "Birth date", lambda r: r.born, searchable=True),
    Column("count", "Courses", lambda r: r.count, align_right=True),
]

ROWS = [
    Row("1", "Åsa Öberg", "Volvo Kalmar", date(1980, 5, 1), 2),
    Row("2", "Anna Andersson", "Scania", date(1975, 12, 24), 0),
    Row("3", "Östen Ek", "Volvo Oskarshamn", None, 5),
    Row("4", "Ärla Berg", "ABB", date(1990, 1, 2), 1),
    Row("5", "Bo Zetterberg", "Saab", date(1966, 7, 7), 3),
]


@pytest.fixture
def models(qtmodeltester, pytestconfig):
    """Both models stay under a model tester (one each) for the whole test."""
    model = RowTableModel(COLUMNS)
    proxy = RowFilterProxy()
    proxy.setSourceModel(model)
    model.set_rows(ROWS)
    qtmodeltester.check(model, force_py=True)
    proxy_tester = ModelTester(pytestconfig)
    proxy_tester.check(proxy, force_py=True)
    yield model, proxy
    proxy_tester._cleanup()


def names(proxy):
    return [proxy.row_at(i).name for i in range(proxy.rowCount())]


def test_model_shape_and_roles(models):
    model, _proxy = models
    assert model.rowCount() == 5 and model.columnCount() == 4
    index = model.index(0, 2)
    assert model.data(index) == "1980-05-01"  # Swedish short date
    assert model.data(model.index(2, 2)) == ""
    assert model.data(index, ROW_ROLE) is ROWS[0]
    assert model.data(index, ID_ROLE) == "1"
    assert model.data(model.index(0, 3), Qt.ItemDataRole.TextAlignmentRole)
    assert model.headerData(1, Qt.Orientation.Horizontal) == "Arbetsgivare"


def test_filter_as_you_type_over_several_columns(models):
    model, proxy = models
    proxy.set_filter_text("volvo")
    assert names(proxy) == ["Åsa Öberg", "Östen Ek"]
    proxy.set_filter_text("volvo kalm")  # two words: both must occur
    assert names(proxy) == ["Åsa Öberg"]
    proxy.set_filter_text("ÅSA")  # any case, å ä ö
    assert names(proxy) == ["Åsa Öberg"]
    proxy.set_filter_text("1975")  # the birth date column
    assert names(proxy) == ["Anna Andersson"]
    proxy.set_filter_text("an")
    proxy.set_filter_text("ann")  # narrowing keeps the right rows
    assert names(proxy) == ["Anna Andersson"]
    proxy.set_filter_text("")
    assert proxy.rowCount() == 5
    proxy.set_filter_text("5")  # 'Courses' is not searchable: only dates with a 5 match
    assert names(proxy) == ["Åsa Öberg", "Anna Andersson"]


def test_sort_swedish_order_and_none_last(models):
    model, proxy = models
    proxy.sort(0, Qt.SortOrder.AscendingOrder)
    assert names(proxy) == ["Anna Andersson", "Bo Zetterberg", "Åsa Öberg", "Ärla Berg", "Östen Ek"]
    proxy.sort(2, Qt.SortOrder.AscendingOrder)
    assert [proxy.row_at(i).id for i in range(5)] == ["5", "2", "1", "4", "3"]
    proxy.sort(3, Qt.SortOrder.DescendingOrder)
    assert [proxy.row_at(i).count for i in range(5)] == [5, 3, 2, 1, 0]
    assert sort_key(None) > sort_key("ö") and sort_key("å") < sort_key("ä") < sort_key("ö")


def test_sort_keeps_filter_and_selection(qtbot, models):
    model, proxy = models
    view = QTableView()
    qtbot.addWidget(view)
    view.setModel(proxy)
    view.setSortingEnabled(True)
    proxy.set_filter_text("volvo")
    view.selectRow(proxy.proxy_row_of("3"))
    view.sortByColumn(0, Qt.SortOrder.DescendingOrder)
    assert names(proxy) == ["Östen Ek", "Åsa Öberg"]
    selected = view.selectionModel().selectedRows()
    assert [proxy.row_at(i.row()).id for i in selected] == ["3"]


def test_update_rows_refreshes_only_what_changed(qtbot, models):
    model, proxy = models
    proxy.set_filter_text("volvo")
    with qtbot.waitSignal(model.dataChanged) as changed:
        model.update_rows([Row("2", "Anna Andersson", "Volvo Torslanda", None, 1)])
    assert changed.args[0].row() == 1 and changed.args[1].row() == 1
    assert sorted(names(proxy)) == sorted(["Åsa Öberg", "Östen Ek", "Anna Andersson"])
    model.update_rows([Row("6", "Nils Volvosson", "", None, 0)], removed_ids=["1"])
    assert model.rowCount() == 5
    assert model.position_of("1") is None
    assert sorted(names(proxy)) == sorted(["Östen Ek", "Anna Andersson", "Nils Volvosson"])
    assert model.row_for("6").name == "Nils Volvosson"


def test_set_rows_resets_and_keeps_filter(models):
    model, proxy = models
    proxy.set_filter_text("saab")
    model.set_rows(ROWS + [Row("9", "Per Saab", "", None, 0)])
    assert names(proxy) == ["Bo Zetterberg", "Per Saab"]
    assert model.matching_count() == 2


def test_headers_follow_the_language(models):
    from app.i18n import set_language

    model, _proxy = models
    set_language("en")
    assert model.headerData(1, Qt.Orientation.Horizontal) == "Employer"


def test_filtering_keeps_selection_and_column_widths(qtbot, models):
    model, proxy = models
    view = QTableView()
    qtbot.addWidget(view)
    view.setModel(proxy)
    view.setColumnWidth(1, 222)
    view.selectRow(proxy.proxy_row_of("3"))
    proxy.set_filter_text("volvo")  # Östen stays visible: still selected and current
    assert [proxy.row_at(i.row()).id for i in view.selectionModel().selectedRows()] == ["3"]
    assert proxy.row_at(view.currentIndex().row()).id == "3"
    proxy.set_filter_text("zzz")  # nothing matches: no selection, widths kept
    assert proxy.rowCount() == 0 and not view.selectionModel().selectedRows()
    assert view.columnWidth(1) == 222
    proxy.set_filter_text("")
    assert proxy.rowCount() == 5 and view.columnWidth(1) == 222
    assert proxy.mapToSource(proxy.index(4, 1)) == model.index(4, 1)


def test_rows_entering_and_leaving_the_filter(models):
    model, proxy = models
    proxy.set_filter_text("volvo")
    model.update_rows([Row("3", "Östen Ek", "Scania", None, 5)])  # leaves the filter
    assert names(proxy) == ["Åsa Öberg"]
    assert proxy.proxy_row_of("3") is None
    model.update_rows([Row("7", "Sven Volvo", "", None, 0), Row("8", "Per Nilsson", "", None, 0)])
    assert names(proxy) == ["Åsa Öberg", "Sven Volvo"]  # 8 is in the model, not shown
    assert model.rowCount() == 7
    model.update_rows([], removed_ids=["1"])
    assert names(proxy) == ["Sven Volvo"]
    proxy.set_filter_text("")
    assert sorted(names(proxy)) == sorted(["Anna Andersson", "Östen Ek", "Ärla Berg", "Bo Zetterberg",
                                           "Sven Volvo", "Per Nilsson"])


def test_search_text_with_a_record_separator_in_the_data(models):
    model, proxy = models
    model.set_rows(ROWS + [Row("9", "Odd\u001eName", "", None, 0)])
    proxy.set_filter_text("saab")
    assert names(proxy) == ["Bo Zetterberg"]
    proxy.set_filter_text("odd")
    assert names(proxy) == ["Odd\u001eName"]
