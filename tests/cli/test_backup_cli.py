"""`kursdesk backup --out FILE`: the SQLite backup API on a file, pg_dump (else a JSON bundle) on
a server; read back each time; a failure leaves no file and says why in one line."""

from __future__ import annotations

import json
import sqlite3
import subprocess

from app.cli import main
from app.db import Database
from app.services.companies import CompanyData, create_company


def _with_a_company(url: str) -> None:
    db = Database(url)
    create_company(db, CompanyData("Verkstad AB", "5560000001"))
    db.dispose()


def test_the_backup_holds_the_records(database_url, tmp_path, capsys, pg_or_none):
    _with_a_company(database_url)
    out = tmp_path / "kopia.backup"
    assert main(["--lang", "en", "backup", "--db", database_url, "--out", str(out)]) == 0
    said = capsys.readouterr().out
    assert str(out) in said
    if pg_or_none is None:
        assert "a copy of the database file" in said
        with sqlite3.connect(out) as conn:
            assert conn.execute("SELECT name FROM companies").fetchall() == [("Verkstad AB",)]
    else:
        assert "pg_dump archive" in said
        name = pg_or_none.create()
        subprocess.run(["pg_restore", "--no-owner", f"--dbname={pg_or_none.url(name).replace('+psycopg', '')}", str(out)],
                       check=True, capture_output=True)
        restored = Database(pg_or_none.url(name))
        try:
            from app.services.companies import list_companies

            assert [c.name for c in list_companies(restored)] == ["Verkstad AB"]
        finally:
            restored.dispose()


def test_without_pg_dump_a_server_is_backed_up_as_a_bundle(database_url, tmp_path, capsys, monkeypatch, pg_or_none):
    import app.backup as backup

    _with_a_company(database_url)
    monkeypatch.setattr(backup, "pg_dump_program", lambda: None)
    out = tmp_path / "kopia.json"
    assert main(["--lang", "en", "backup", "--db", database_url, "--out", str(out)]) == 0
    if pg_or_none is None:  # a file is always copied with SQLite's backup API
        with sqlite3.connect(out) as conn:
            assert conn.execute("SELECT count(*) FROM companies").fetchone() == (1,)
        return
    assert "JSON bundle" in capsys.readouterr().out
    bundle = json.loads(out.read_text(encoding="utf-8"))
    assert [c["name"] for c in bundle["companies"]] == ["Verkstad AB"]


def test_a_backup_into_a_missing_folder_is_one_line_and_writes_nothing(database_url, tmp_path, capsys):
    out = tmp_path / "saknas" / "kopia.backup"
    assert main(["--lang", "en", "backup", "--db", database_url, "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "saknas" in err
    assert not out.exists() and not list(tmp_path.glob("**/*.tmp"))
