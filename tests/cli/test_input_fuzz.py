"""Issue 11: random and mutated bundles and participant lists through `kursdesk import` (in process,
app.cli.main). It exits 0 or 2, never 1; on 2 the database is exactly as before; on 0 every
document can be made afterwards (monthly summary, time report, sign-in sheet, certificates, export)
without exit 1."""

from __future__ import annotations

import copy
import json
import os
import shutil
import sqlite3
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.cli import main
from app.db import Database
from app.models import Attendance, CourseSession, Enrollment, attendance_id


def fuzz(examples: int):
    """Bounded (the two tests take ~25 s together); KURSDESK_FUZZ=N runs N examples each, to hunt."""
    return settings(
        max_examples=int(os.environ.get("KURSDESK_FUZZ", examples)),
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture, HealthCheck.data_too_large],
    )

IDS = {name: f"6f1c1e52-4c1a-4e0b-9a8e-{n:012d}" for n, name in enumerate(
    ["prov", "comp1", "comp2", "p1", "p2", "p3", "course", "s1", "s2", "e1", "e2", "e3",
     "a1", "a2", "a3", "a4", "a5", "a6", "need"], start=1)}
MONTH = "2026-03"


def _base_bundle() -> dict:
    i = IDS
    people = [("p1", "Åsa", "Öberg", "197004051129"), ("p2", "Björn", "Ängström", "198112189876"),
              ("p3", "Siobhán", "O'Brien", "199001011239")]
    return {
        "format": "kursdesk-bundle",
        "version": 1,
        "providers": [{"id": i["prov"], "name": "Campus Västervik", "org_number": "212000-0829"}],
        "companies": [
            {"id": i["comp1"], "name": "Verkstad AB", "org_number": "556016-0680", "municipality": "Kalmar",
             "hourly_wage_cost": 350},
            {"id": i["comp2"], "name": "Kalmar Plåt AB", "org_number": "559123-4561", "municipality": "Nybro"},
        ],
        "participants": [
            {"id": i[k], "first_name": f, "last_name": la, "personal_number": pnr, "company_id": i["comp1"]}
            for k, f, la, pnr in people
        ],
        "courses": [{"id": i["course"], "code": "FZ-1", "title": "Svetsning", "provider_id": i["prov"],
                     "capacity": 20, "description": "Grunder\n\tMIG/MAG"}],
        "needs": [{"id": i["need"], "company_id": i["comp1"], "date": "2026-01-10", "description": "Svets",
                   "course_ids": [i["course"]]}],
        "sessions": [
            {"id": i["s1"], "course_id": i["course"], "date": "2026-03-03", "start": "08:00", "end": "12:00"},
            {"id": i["s2"], "course_id": i["course"], "date": "2026-03-10", "start": "13:00", "end": "16:30"},
        ],
        "enrollments": [
            {"id": i[e], "course_id": i["course"], "participant_id": i[p], "status": "enrolled"}
            for e, p in (("e1", "p1"), ("e2", "p2"), ("e3", "p3"))
        ],
        "attendance": [
            {"id": i[a], "session_id": i[s], "participant_id": i[p], "status": st_, "minutes": m}
            for a, s, p, st_, m in (
                ("a1", "s1", "p1", "present", None), ("a2", "s2", "p1", "present", None),
                ("a3", "s1", "p2", "late", 200), ("a4", "s2", "p2", "present", None),
                ("a5", "s1", "p3", "absent", None), ("a6", "s2", "p3", "present", 210),
            )
        ],
    }


BASE = _base_bundle()


@pytest.fixture(scope="module")
def base_db(tmp_path_factory):
    folder = tmp_path_factory.mktemp("fuzz-base")
    bundle = folder / "base.json"
    bundle.write_text(json.dumps(BASE, ensure_ascii=False), encoding="utf-8")
    path = folder / "base.db"
    assert main(["--db", str(path), "import", "--json", str(bundle)]) == 0
    db = Database(path)
    with db.engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    db.dispose()
    return path


def dump(path: Path) -> dict:
    """Every row of every table: what "nothing was written" compares."""
    conn = sqlite3.connect(path)
    try:
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")]
        return {t: conn.execute(f'SELECT * FROM "{t}" ORDER BY 1').fetchall() for t in tables}
    finally:
        conn.close()


def run(*args: str) -> int:
    return main(list(args))


def documents_can_be_made(db_path: Path, folder: Path) -> None:
    """On exit 0: every document, without exit 1 (2 is fine: e.g. a course code the import changed)."""
    db = str(db_path)
    conn = sqlite3.connect(db_path)
    codes = [r[0] for r in conn.execute("SELECT code FROM courses WHERE deleted_at IS NULL ORDER BY code LIMIT 2")]
    months = [r[0][:7] for r in conn.execute("SELECT DISTINCT substr(date, 1, 7) FROM sessions LIMIT 2")]
    conn.close()
    for month in dict.fromkeys([MONTH, *months]):
        assert run("--db", db, "report", "month", month, "--out", str(folder / f"{month}.xlsx")) in (0, 2)
        assert run("--db", db, "report", "month", month, "--out", str(folder / f"{month}.pdf")) in (0, 2)
    for n, code in enumerate(codes):
        assert run("--db", db, "attendance-list", code, "--out", str(folder / f"sheet{n}.pdf")) in (0, 2)
        assert run("--db", db, "certificates", code, "--out", str(folder / f"certs{n}")) in (0, 2)
    assert run("--db", db, "courses", "--json") in (0, 2)
    assert run("--db", db, "export", "--json", str(folder / "export.json")) == 0


def check_import(base_db: Path, args_after_db: list[str], folder: Path, *, mark_everyone: bool = False) -> int:
    db_path = folder / "k.db"
    shutil.copyfile(base_db, db_path)
    before = dump(db_path)
    code = run("--db", str(db_path), *args_after_db)
    assert code in (0, 2), f"exit {code}"
    if code == 2:
        assert dump(db_path) == before, "a refused import wrote something"
    else:
        if mark_everyone:
            _mark_everyone(db_path)
        documents_can_be_made(db_path, folder)
    return code


def _mark_everyone(db_path: Path) -> None:
    """Attendance for everyone enrolled, so that their names reach the monthly documents."""
    db = Database(db_path)
    try:
        with db.write() as s:
            marks = {(a.session_id, a.participant_id) for a in s.query(Attendance)}
            for session in s.query(CourseSession).filter(CourseSession.deleted_at.is_(None)):
                for e in s.query(Enrollment).filter(Enrollment.course_id == session.course_id):
                    if (session.id, e.participant_id) not in marks:
                        s.add(Attendance(id=attendance_id(session.id, e.participant_id), session_id=session.id,
                                         participant_id=e.participant_id, status="present"))
    finally:
        db.dispose()


# --- values ------------------------------------------------------------------------------------

RAW = {  # JSON text no Python value dumps to: put in place of a marker string after json.dumps
    "nan": "NaN", "inf": "Infinity", "-inf": "-Infinity", "big": "1e999999", "tiny": "1e-999999",
    "digits": "9" * 5000, "negdigits": "-" + "1" * 40, "deep64": "[" * 63 + "]" * 63,
    "deep65": "[" * 65 + "]" * 65, "deep": "[" * 50_000 + "]" * 50_000, "float": "3.14159265358979323846264338327950288",
}
ODD_CHARS = ["\x00", "\x07", "\x1b", "\x7f", "\x85", "\t", "\n", "\r\n", "\u2028", "\ud800", "\udfff", "\ufffe",
             "\u202e", "=", "'", '"', "\\", "Å", "ö", "😀", "山"]

odd_text = st.one_of(
    st.text(max_size=30),
    st.lists(st.sampled_from(ODD_CHARS + ["a", " ", "-"]), max_size=12).map("".join),
    st.builds(lambda ch, n: ch * n, st.sampled_from(["A", "Å", " ", "\x00", "9"]),
              st.sampled_from([11, 12, 40, 41, 99, 100, 101, 200, 201, 300, 10_000, 10_001, 2_000_000])),
)
plausible = st.sampled_from([
    "", "2026-03-03", "2026-13-01", "1899-12-31", "2200-01-01", "0001-01-01", "9999-12-31", "08:00", "24:00",
    "23:59", "12:00", "present", "late", "absent", "excused", "enrolled", "waitlisted", "withdrawn", "completed",
    "sv", "en", "female", "male", "19811218-9876", "811218-9876", "197004051129", "198112189876", "556016-0680",
    "5560160680", "559123-4561", "a@b.se", "070-123 45 67", "2026-03", "2026-03-03T08:00:00", "1e999999",
    "350.505", "350,50", "-0", "NaN", *IDS.values(),
])
number = st.one_of(
    st.integers(-5, 2000),
    st.sampled_from([0, -1, 100, 101, 1440, 1441, 10_000, 10_001, 2**31, 2**63, 10**29, 10**30, 99_999_999, 10**8]),
    st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from([f"__RAW:{k}__" for k in RAW]),
)
value = st.one_of(
    st.none(), st.booleans(), number, odd_text, plausible,
    st.lists(st.one_of(plausible, number), max_size=3),
    st.dictionaries(st.sampled_from(["id", "x", "name"]), plausible, max_size=2),
)
uuid_like = st.one_of(st.uuids().map(str), st.sampled_from(list(IDS.values())), odd_text)

TYPES = [k for k in BASE if isinstance(BASE[k], list)]


def _luhn(digits: str) -> str:
    from stdnum import luhn

    return digits + luhn.calc_check_digit(digits)


fresh_pnr = st.builds(lambda y, m, d, n: f"{y}{m:02d}{d:02d}" + _luhn(f"{y % 100:02d}{m:02d}{d:02d}{n:03d}")[-4:],
                      st.integers(1940, 2008), st.integers(1, 12), st.integers(1, 28), st.integers(0, 999))
fresh_org = st.integers(0, 9_999_999).map(lambda n: _luhn(f"55{n:07d}")).map(lambda d: f"{d[:6]}-{d[6:]}")
# values a field may well hold: odd but allowed text (emoji, formulas, the longest names), numbers within bounds
fine = st.one_of(
    st.sampled_from(["Åsa", "=HYPERLINK(\"x\")", "😀 Emoji", "山田 太郎", "O'Brien", "Å" * 100, "-1", "@x", "x",
                     "Anna\u00a0Karin", "Zoë", "\u202eevil", "#N/A", "<b>&amp;</b>", "Ω≈ç√∫"]),
    st.text(st.characters(blacklist_categories=("Cc", "Cs", "Zl", "Zp", "Co", "Cn")), min_size=1, max_size=60),
)
FRESH = {"participants": ("personal_number", fresh_pnr), "companies": ("org_number", fresh_org),
         "courses": ("code", st.text("ABCXYZ-0123456789", min_size=1, max_size=40))}


@st.composite
def bundles(draw) -> bytes:
    patch: dict = {"format": "kursdesk-bundle", "version": 1}
    hostile = draw(st.integers(0, 2)) == 0  # else only values a field may well hold: mostly imports
    for _ in range(draw(st.integers(1, 5 if hostile else 3))):
        key = draw(st.sampled_from(TYPES))
        rec = copy.deepcopy(draw(st.sampled_from(BASE[key])))
        mode = draw(st.sampled_from(["update", "update", "new", "new", "twice"] if hostile else ["update", "new"]))
        if mode != "update":
            rec["id"] = draw(st.uuids().map(str)) if draw(st.integers(0, 4)) else draw(uuid_like)
            if key in FRESH and draw(st.integers(0, 3)):
                name, strategy = FRESH[key]
                rec[name] = draw(strategy)
            if key in ("enrollments", "attendance", "originals_received") and draw(st.integers(0, 3)):
                rec["participant_id"] = IDS["p3"]  # the mark or enrolment may exist already: a clash or an update
        for _ in range(draw(st.integers(0, 3))):
            field = draw(st.sampled_from(sorted(rec) + ["unknown", "deleted_at", "hourly_wage_cost", "capacity"]))
            if hostile:
                rec[field] = draw(value)
            elif field in ("first_name", "last_name", "name", "title", "description", "note", "location", "teacher",
                           "industry", "contact_name", "unknown"):
                rec[field] = draw(fine)
            elif field in ("hourly_wage_cost", "capacity", "minutes"):
                rec[field] = draw(st.sampled_from([None, 0, 1, 100, 200, 210, 10_000, 350.5, 99_999_999.99]))
            elif field == "deleted_at":
                rec[field] = draw(st.sampled_from([None, "2026-03-20T10:00:00", "2026-03-20T10:00:00+02:00"]))
        patch.setdefault(key, []).append(rec)
        if mode == "twice":
            patch[key].append(dict(rec, id=draw(st.uuids().map(str))))
    if hostile and draw(st.integers(0, 9)) == 0:  # the frame itself
        patch[draw(st.sampled_from(["format", "version", *TYPES]))] = draw(value)
    text = json.dumps(patch, ensure_ascii=draw(st.booleans()))
    for k, raw in RAW.items():
        text = text.replace(f'"__RAW:{k}__"', raw)
    data = text.encode("utf-8", errors="surrogatepass")
    cut = draw(st.integers(0, 19)) if hostile else 9
    if cut == 0:
        data = data[: draw(st.integers(0, len(data)))]
    elif cut == 1:
        data = text.encode(draw(st.sampled_from(["utf-16", "cp1252", "latin-1"])), errors="replace")
    return data


@fuzz(60)
@given(data=bundles())
def test_fuzzed_bundles_exit_0_or_2_and_never_half_write(base_db, data):
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        (folder / "b.json").write_bytes(data)
        check_import(base_db, ["import", "--json", str(folder / "b.json")], folder)


# --- lists ---------------------------------------------------------------------------------------

NAMES = ["Åsa", "Öberg", "Björn", "Ängström", "Märta", "Lööf", "Sven", "Nilsson", "O'Brien", "Anna-Karin",
         "山田", "太郎", "Иван", "😀", "=HYPERLINK(\"x\")", "José", "Łukasz", "Šimon", "Žaneta", ""]
PNRS = ["700405-1129", "197004051129", "881120-1155", "950101-1238", "811218-9876", "900101-1239",
        "8506152340", "19811218-9875", "20991301-0000", "", "abc"]
COMPANIES = ["Verkstad AB", "556016-0680", "Kalmar Plåt AB", "Okänt AB", ""]

cell = st.one_of(st.sampled_from(NAMES), st.sampled_from(PNRS), st.sampled_from(COMPANIES), odd_text,
                 st.sampled_from(['"', '""', '"x', 'x"', '"a;b"', "a\nb", ";", ","]))


@st.composite
def participant_lists(draw) -> tuple[str, bytes | list, list[str]]:
    rows = [["Förnamn", "Efternamn", "Personnummer", "Företag", "E-post"]]
    for _ in range(draw(st.integers(0, 6))):
        kind = draw(st.integers(0, 4))
        if kind == 0:  # someone registered, as registered
            first, last, pnr = draw(st.sampled_from([("Åsa", "Öberg", "700405-1129"), ("björn", "ÄNGSTRÖM", "811218-9876")]))
        else:
            first, last = draw(st.sampled_from(NAMES)), draw(st.sampled_from(NAMES))
            pnr = draw(st.sampled_from(PNRS)) if kind == 1 else draw(fresh_pnr)
        row = [first, last, pnr, draw(st.sampled_from(COMPANIES)), draw(st.sampled_from(["", "a@b.se", "x@"]))]
        for _ in range(draw(st.integers(0, 2))):
            row[draw(st.integers(0, 4))] = draw(cell)
        rows.append(row)
    flags = draw(st.lists(st.sampled_from(["--skip-invalid", "--accept-known"]), unique=True, max_size=2))
    if draw(st.integers(0, 4)) == 0:
        return ".xlsx", rows, flags
    sep = draw(st.sampled_from([";", ",", "\t"]))
    quote_all = draw(st.booleans())
    file_encoding = draw(st.sampled_from(["utf-8", "utf-8-sig", "cp1252", "utf-16", "shift_jis", "latin-1"]))
    lines = []
    for row in rows:
        text = sep.join(f'"{c}"' if quote_all else c for c in row)
        encoding = file_encoding if draw(st.integers(0, 5)) else draw(st.sampled_from(["utf-8", "cp1252", "shift_jis"]))
        if encoding == "utf-16":
            encoding = "utf-16-le"
        lines.append(text.encode(encoding, errors="replace").replace(b"\n", draw(st.sampled_from([b"\n", b" ", b""]))))
    data = draw(st.sampled_from([b"\n", b"\r\n"])).join(lines) + b"\n"
    if file_encoding == "utf-8-sig":
        data = b"\xef\xbb\xbf" + data
    elif file_encoding == "utf-16":
        data = b"\xff\xfe" + data
    if draw(st.integers(0, 5)) == 0:
        junk = draw(st.binary(min_size=1, max_size=8))
        at = draw(st.integers(0, len(data)))
        data = data[:at] + junk + data[at:]
    return ".csv", data, flags


def _write_xlsx(path: Path, rows: list) -> None:
    from openpyxl import Workbook
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    wb = Workbook()
    ws = wb.active
    for row in rows:
        clean = [ILLEGAL_CHARACTERS_RE.sub("", c.encode("utf-8", "replace").decode("utf-8")) for c in row]
        ws.append([c.replace("\ufffe", "").replace("\uffff", "") for c in clean])
    wb.save(path)


@fuzz(100)
@given(case=participant_lists())
def test_fuzzed_participant_lists_exit_0_or_2_and_never_half_write(base_db, case):
    suffix, content, flags = case
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        listed = folder / f"lista{suffix}"
        if suffix == ".xlsx":
            _write_xlsx(listed, content)
        else:
            listed.write_bytes(content)
        check_import(base_db, ["import", "participants", str(listed), "--course", "FZ-1", *flags], folder,
                     mark_everyone=True)
