"""`kursdesk settings` and `kursdesk settings set NAME VALUE`."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from app.cli import main
from app.db import Database
from app.models import ProjectSetting
from app.services.settings import SETTINGS, get_project_settings, get_settings


def run(db_path, *args) -> int:
    return main(["--db", str(db_path), *args])


def test_lists_every_setting_with_its_value(tmp_path, capsys):
    path = tmp_path / "k.db"
    assert run(path, "settings") == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split(" = ")[0] for line in lines] == [spec.name for spec in SETTINGS]
    assert "organisation.name = Campus Västervik    # Organisation" in lines
    assert "esf.unit_cost =     # Enhetskostnad per timme (kr, Lönegrupp 1)" in lines
    assert "report.time_layout = lines    # Närvarorapportens utformning (lines eller grid)" in lines


def test_set_validates_and_stores(tmp_path, capsys):
    path = tmp_path / "k.db"
    assert run(path, "settings", "set", "esf.unit_cost", "291,47") == 0
    assert capsys.readouterr().out.strip() == "esf.unit_cost = 291.47"
    assert run(path, "settings", "set", "esf.case_number", "2020/00123") == 0
    assert run(path, "settings", "set", "esf.project_start", "2021-01-01") == 0
    assert run(path, "settings", "set", "report.rounding", "floor") == 0
    assert run(path, "settings", "set", "attendance.min_percent", "75") == 0
    db = Database(path)
    project = get_project_settings(db)
    assert (project.unit_cost, project.case_number, project.project_start) == (Decimal("291.47"), "2020/00123", date(2021, 1, 1))
    assert get_settings(db).hours_rounding == "floor" and get_settings(db).default_min_attendance == 75
    with db.read() as s:  # the project's settings are records that sync carries
        assert {r.key for r in s.query(ProjectSetting)} >= {"esf.unit_cost", "esf.case_number", "esf.project_start"}
    db.dispose()


@pytest.mark.parametrize(
    "name, value, reason",
    [
        ("esf.unit_cost", "-3", "esf.unit_cost: Ange enhetskostnaden i kronor per timme"),
        ("esf.unit_cost", "291,475", "esf.unit_cost: Ange enhetskostnaden"),
        ("esf.project_end", "31/12/2022", "esf.project_end:"),
        ("report.time_layout", "table", "report.time_layout: Använd något av: lines, grid."),
        ("attendance.min_percent", "120", "attendance.min_percent:"),
        ("no.such", "1", "Okänd inställning no.such"),
    ],
)
def test_a_refused_value_is_exit_2_with_one_line(tmp_path, capsys, name, value, reason):
    path = tmp_path / "k.db"
    assert run(path, "settings", "set", name, value) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("kursdesk: ") and reason in err[0], err
    db = Database(path)
    assert get_project_settings(db).unit_cost is None and get_settings(db).default_min_attendance == 80
    db.dispose()


def test_an_end_before_the_start_is_refused(tmp_path, capsys):
    path = tmp_path / "k.db"
    assert run(path, "settings", "set", "esf.project_start", "2021-01-01") == 0
    assert run(path, "settings", "set", "esf.project_end", "2020-12-31") == 2
    assert "Projektet slutar innan det börjar." in capsys.readouterr().err


def test_the_data_protection_certificate_and_sync_settings_are_named_too(tmp_path, capsys):
    from app.db import Database
    from app.gdpr.settings import get_gdpr_settings
    from app.services.certificate_settings import get_certificate_settings
    from app.services.settings import get_sync_settings

    path = str(tmp_path / "k.db")
    assert run(path, "settings", "set", "gdpr.retention_until", "2031-12-31") == 0
    assert run(path, "settings", "set", "gdpr.notice_sv", "Rad 1\\nRad 2") == 0
    assert run(path, "settings", "set", "certificates.participation", "nej") == 0
    assert run(path, "settings", "set", "certificates.issuer_email", "info@campus.se") == 0
    assert run(path, "settings", "set", "sync.inactive_days", "30") == 0
    capsys.readouterr()
    assert run(path, "settings", "set", "gdpr.nonparticipant_months", "0") == 2
    assert "gdpr.nonparticipant_months" in capsys.readouterr().err
    assert run(path, "settings", "set", "certificates.issuer_email", "x") == 2
    db = Database(path)
    gdpr, certificates = get_gdpr_settings(db), get_certificate_settings(db)
    assert str(gdpr.retention_until) == "2031-12-31" and gdpr.notice_sv == "Rad 1\nRad 2"
    assert gdpr.nonparticipant_months == 6
    assert certificates.participation is False and certificates.issuer_email == "info@campus.se"
    assert get_sync_settings(db).inactive_days == 30
    db.dispose()
    capsys.readouterr()
    assert run(path, "settings") == 0
    out = capsys.readouterr().out
    assert "gdpr.notice_sv = Rad 1\\nRad 2" in out and "sync.inactive_days = 30" in out
