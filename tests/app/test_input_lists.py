"""Issue 11, participant lists read as a person would expect: one encoding per file (mixed or unknown
ones refused with their lines), a CSV error stops the import, .xlsx read with bounded memory, every
field within app.limits, and a personnummer known under another name is a problem on its row."""

from __future__ import annotations

import zipfile

import pytest
from openpyxl import Workbook

from app import limits
from app.errors import UserError
from app.interchange import participant_list
from app.interchange.participant_list import apply_import, decode_text, preview_import, read_list
from app.models import Participant
from tests.app.test_participant_list import _count, course_db  # noqa: F401 - the fixture

HEADER = "Förnamn;Efternamn;Personnummer\n"
ROWS = ["Åsa;Öberg;700405-1129", "Björn;Ängström;881120-1155", "Märta;Lööf;950101-1238", "Sven;Nilsson;811218-9876"]


def csv_bytes(*lines: bytes) -> bytes:
    return b"\n".join(lines) + b"\n"


def test_a_utf8_file_with_one_windows_1252_line_is_refused_naming_it():
    data = csv_bytes(HEADER.strip().encode(), ROWS[0].encode(), ROWS[1].encode("cp1252"), ROWS[2].encode())
    with pytest.raises(UserError) as info:
        decode_text(data, "lista.csv")
    message = str(info.value)
    assert "lista.csv" in message and "rad 3 " in message and "UTF-8" in message and "\n" not in message


def test_a_windows_1252_file_with_one_utf8_line_is_refused_naming_it():
    data = csv_bytes(HEADER.strip().encode("cp1252"), ROWS[0].encode("cp1252"), ROWS[1].encode(), ROWS[2].encode("cp1252"))
    with pytest.raises(UserError, match=r"rad 3 är UTF-8, de övriga raderna Windows-1252"):
        decode_text(data, "lista.csv")


@pytest.mark.parametrize("encoding", ["cp1252", "utf-8"])
def test_text_converted_twice_is_refused_naming_the_lines(encoding):
    mojibake = "Åsa;Öberg".encode().decode("cp1252")  # 'Ã…sa;Ã–berg'
    assert mojibake.startswith("Ã…")
    data = csv_bytes(HEADER.strip().encode(encoding), mojibake.encode(encoding) + b";700405-1129", ROWS[3].encode(encoding))
    with pytest.raises(UserError, match=r"rad 2\b"):
        decode_text(data, "lista.csv")


def test_utf16_without_its_byte_order_mark_is_refused():
    with pytest.raises(UserError, match="UTF-16 utan byteordningsmärke"):
        decode_text((HEADER + ROWS[0] + "\n").encode("utf-16-le"), "lista.csv")


@pytest.mark.parametrize("encoding", ["shift_jis", "euc_jp", "utf-16-le", "koi8_r"])
def test_other_encodings_are_refused_with_their_line(encoding):
    data = (HEADER + "山田;太郎;700405-1129\nИван;Петров;881120-1155\n").encode(encoding, errors="replace")
    with pytest.raises(UserError, match=r"rad \d+|blandar|UTF-16"):
        decode_text(data, "lista.csv")


def test_one_encoding_per_file_reads_as_written():
    text = HEADER + "\n".join(ROWS) + "\n"
    for encoding in ("utf-8", "utf-8-sig", "cp1252", "utf-16"):
        assert decode_text(text.encode(encoding)) == text
    # typographic quotes, dashes and a no-break space are what Swedish Excel writes
    typo = "Anna–Lena;O’Neil\u00a0“Nisse”;700405-1129\n"
    assert decode_text(typo.encode("cp1252")) == typo


def test_an_unbalanced_quote_stops_the_import_also_with_skip_invalid(course_db, tmp_path):  # noqa: F811
    db, cid = course_db
    path = tmp_path / "lista.csv"
    path.write_text(HEADER + 'Åsa;"Öberg;700405-1129\n' + "\n".join(ROWS[1:]) + "\n", encoding="utf-8")
    with pytest.raises(UserError, match=r"rad 2: ett citattecken"):
        preview_import(db, path, cid)
    assert _count(db, Participant) == 0


def test_a_quote_inside_a_field_and_a_quoted_field_are_fine(course_db, tmp_path):  # noqa: F811
    db, cid = course_db
    path = tmp_path / "lista.csv"
    path.write_text(HEADER + 'Åsa "Åsan";"Öberg; Lund";700405-1129\n', encoding="utf-8")
    rows = preview_import(db, path, cid).rows
    assert (rows[0].first_name, rows[0].last_name) == ('Åsa "Åsan"', "Öberg; Lund")


# --- fields within the limits ------------------------------------------------------------------

@pytest.mark.parametrize(
    "row,label,reason",
    [
        ("A" * 5_000 + ";Öberg;700405-1129", "Förnamn", "längre än 100 tecken"),
        ("Åsa\x00;Öberg;700405-1129", "Förnamn", "styrtecken"),
        ("Åsa;Ö\x1bberg;700405-1129", "Efternamn", "styrtecken"),
        ("Åsa;Öberg;700405-1129;" + "x" * 3_000 + "@x.se", "E-post", "längre än 200 tecken"),
    ],
)
def test_each_field_is_held_to_the_forms_limits(course_db, tmp_path, row, label, reason):  # noqa: F811
    db, cid = course_db
    path = tmp_path / "lista.csv"
    path.write_text(HEADER.strip() + ";E-post\n" + row + "\n", encoding="utf-8")
    preview = preview_import(db, path, cid)
    (line,) = preview.problem_lines()
    assert line.startswith(f"Rad 2: {label}: ") and reason in line and len(line) < 300


@pytest.mark.parametrize("size", [20_000, 2_000_000])
def test_a_field_longer_than_any_cell_stops_the_import_naming_its_line(course_db, tmp_path, size):  # noqa: F811
    db, cid = course_db
    path = tmp_path / "lista.csv"
    path.write_text(HEADER + ROWS[0] + "\n" + "A" * size + ";Öberg;881120-1155\n", encoding="utf-8")
    with pytest.raises(UserError, match=r"lista\.csv: rad 3: ett fält innehåller mer än 10000 tecken"):
        preview_import(db, path, cid)


# --- known under another name --------------------------------------------------------------------

def _known(db):
    with db.write() as s:
        s.add(Participant(first_name="Åsa", last_name="Öberg", personal_number="197004051129", gender="female"))


def test_a_personnummer_known_under_another_name_is_a_problem_showing_the_registered_name(course_db, tmp_path):  # noqa: F811
    db, cid = course_db
    _known(db)
    path = tmp_path / "lista.csv"
    path.write_text(HEADER + "Sven;Nilsson;700405-1129\nåsa;ÖBERG;700405-1129\n", encoding="utf-8")
    preview = preview_import(db, path, cid)
    first, second = preview.rows
    assert first.known_as == "Åsa Öberg" and not first.ok
    assert "Åsa Öberg" in first.problems[0] and "19700405-****" in first.problems[0] and "1129" not in first.problems[0]
    assert second.known_as == "" and second.problems == ("Dubblett: samma person som på rad 2.",)
    accepted = preview_import(db, path, cid, accept_known=True)
    assert accepted.rows[0].ok and accepted.rows[0].participant_id
    result = apply_import(db, accepted, skip_invalid=True)
    assert (result.created, result.matched, result.enrolled) == (0, 1, 1)
    with db.read() as s:
        assert [p.first_name for p in s.query(Participant)] == ["Åsa"]  # the known person is left as stored


def test_same_name_in_other_case_spacing_or_hyphen_is_the_same_person(course_db, tmp_path):  # noqa: F811
    db, cid = course_db
    with db.write() as s:
        s.add(Participant(first_name="Anna-Karin", last_name="Öberg", personal_number="197004051129", gender="female"))
    path = tmp_path / "lista.csv"
    path.write_text(HEADER + "ANNA KARIN;  öberg;700405-1129\n", encoding="utf-8")
    assert preview_import(db, path, cid).rows[0].ok


def test_registered_meanwhile_under_another_name_writes_nothing(course_db, tmp_path):  # noqa: F811
    db, cid = course_db
    path = tmp_path / "lista.csv"
    path.write_text(HEADER + "Sven;Nilsson;700405-1129\n", encoding="utf-8")
    preview = preview_import(db, path, cid)
    assert preview.rows[0].ok and preview.rows[0].participant_id is None
    _known(db)
    with pytest.raises(UserError, match="Åsa Öberg"):
        apply_import(db, preview)
    assert _count(db, Participant) == 1


# --- .xlsx with bounded memory -------------------------------------------------------------------

def _xlsx(path, rows):
    wb = Workbook()
    ws = wb.active
    for row in rows:
        ws.append(row)
    wb.save(path)
    return path


def test_a_workbook_that_unpacks_to_gigabytes_is_refused_before_openpyxl_reads_it(tmp_path, monkeypatch):
    path = tmp_path / "bomb.xlsx"
    _xlsx(path, [["Förnamn", "Efternamn", "Personnummer"], ["Åsa", "Öberg", "197004051129"]])
    # the same workbook with one part grown past the limit (it compresses to almost nothing)
    bomb = tmp_path / "big.xlsx"
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as dst:
        for item in src.infolist():
            data = src.read(item.filename)
            if item.filename == "xl/worksheets/sheet1.xml":
                data = data.replace(b"</sheetData>", b"<!--" + b" " * (limits.XLSX_MAX_ENTRY_BYTES + 1) + b"--></sheetData>")
            dst.writestr(item, data)
    assert bomb.stat().st_size < 1_000_000
    import openpyxl

    monkeypatch.setattr(openpyxl, "load_workbook", lambda *a, **k: pytest.fail("openpyxl must not read it"))
    with pytest.raises(UserError, match=r"big\.xlsx.*64 MB.*sheet1\.xml"):
        read_list(bomb)


def test_a_cell_over_excels_limit_is_refused_naming_row_and_column(tmp_path):
    path = _xlsx(tmp_path / "l.xlsx", [["Förnamn", "Efternamn", "Personnummer"], ["Åsa", "x" * 40_000, "197004051129"]])
    with pytest.raises(UserError, match=r"rad 2, kolumn B.*10000"):
        read_list(path)


def test_a_sheet_over_the_row_limit_is_refused(tmp_path, monkeypatch):
    path = tmp_path / "l.xlsx"
    wb = Workbook()
    ws = wb.active
    ws.append(["Förnamn", "Efternamn", "Personnummer"])
    ws.cell(row=1_000_000, column=16_000, value="x")  # one stray cell far away
    wb.save(path)
    with pytest.raises(UserError, match="100000 rader"):
        read_list(path)
    monkeypatch.setattr(limits, "LIST_MAX_ROWS", 5)
    csv_path = tmp_path / "l.csv"
    csv_path.write_text(HEADER + "\n".join(ROWS * 2) + "\n", encoding="utf-8")
    with pytest.raises(UserError, match="5 rader"):
        read_list(csv_path)


def test_a_wrong_dimension_claim_and_far_columns_cost_nothing(tmp_path):
    path = tmp_path / "l.xlsx"
    wb = Workbook()
    ws = wb.active
    ws.append(["Förnamn", "Efternamn", "Personnummer"])
    ws.append(["Åsa", "Öberg", "197004051129"])
    ws.cell(row=2, column=16_000, value="far away")
    wb.save(path)
    raw = read_list(path)
    assert raw.rows == [(2, ["Åsa", "Öberg", "197004051129"])]


def test_a_file_over_the_size_limit_is_refused_unread(tmp_path, monkeypatch):
    monkeypatch.setattr(limits, "LIST_MAX_BYTES", 100)
    path = tmp_path / "l.csv"
    path.write_text(HEADER + "\n".join(ROWS * 3) + "\n", encoding="utf-8")
    monkeypatch.setattr(participant_list, "_read_csv", lambda *a: pytest.fail("must not be read"))
    with pytest.raises(UserError, match="större än"):
        read_list(path)


def test_damaged_sheet_data_is_a_user_error(tmp_path):
    path = _xlsx(tmp_path / "ok.xlsx", [["Förnamn", "Efternamn", "Personnummer"]])
    broken = tmp_path / "broken.xlsx"
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(broken, "w") as dst:
        for item in src.infolist():
            data = src.read(item.filename)
            if item.filename == "xl/worksheets/sheet1.xml":
                data = data[: len(data) // 2]
            dst.writestr(item, data)
    with pytest.raises(UserError, match="inte en läsbar Excel"):
        read_list(broken)
