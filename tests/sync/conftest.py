"""Three laptops (three databases) and one shared folder, for the sync tests."""

from __future__ import annotations

import shutil
from datetime import date, time
from pathlib import Path

import pytest
from sqlalchemy import select

from app.db import Database
from app.models import SYNCED_MODELS, Company, Course, CourseSession, Participant
from app.sync import setup_folder
from app.sync.capture import FIELDS, encode_row, open_app_database

_TEMPLATE: dict[str, Path] = {}


def fresh_db(path: Path) -> Database:
    """A migrated empty database (copied from a template: migrating is the slow part)."""
    if "db" not in _TEMPLATE:
        import tempfile

        tpl = Path(tempfile.mkdtemp()) / "template.db"
        Database(tpl).dispose()
        _TEMPLATE["db"] = tpl
    shutil.copyfile(_TEMPLATE["db"], path)
    return open_app_database(path)


def dump(db: Database) -> dict:
    """Canonical content of every synced record (no local bookkeeping)."""
    out = {}
    with db.read() as s:
        for model in SYNCED_MODELS:
            table = model.__tablename__
            cols = [model.__table__.c[k] for k in FIELDS[table]]
            rows = s.execute(select(*cols).order_by(model.__table__.c.id)).mappings().all()
            out[table] = [encode_row(table, dict(r)) for r in rows]
    return out


class Lab:
    def __init__(self, root: Path, n: int = 3):
        self.root = root
        self.share = root / "share"
        self.key = root / "programme.key"
        setup_folder(self.share, self.key)
        self.laptops = [fresh_db(root / f"laptop{i}.db") for i in range(n)]

    def close(self):
        for db in self.laptops:
            db.dispose()


@pytest.fixture
def lab(tmp_path):
    lab = Lab(tmp_path)
    yield lab
    lab.close()


def add_company(db, name="Verkstad AB", org="5560000001") -> str:
    with db.write() as s:
        c = Company(name=name, org_number=org)
        s.add(c)
        s.flush()
        return c.id


def add_participant(db, first="Åsa", last="Lindqvist", pnr="198507142386", email="asa.lindqvist@example.se", company_id=None) -> str:
    with db.write() as s:
        p = Participant(first_name=first, last_name=last, personal_number=pnr, email=email, company_id=company_id)
        s.add(p)
        s.flush()
        return p.id


def add_course_with_session(db, code="SVE-101") -> tuple[str, str]:
    with db.write() as s:
        c = Course(code=code, title="Svetsning grund")
        s.add(c)
        s.flush()
        ses = CourseSession(course_id=c.id, date=date(2026, 3, 2), start_time=time(8, 0), end_time=time(12, 0))
        s.add(ses)
        s.flush()
        return c.id, ses.id


def edit(db, model, rid, **values) -> None:
    with db.write() as s:
        obj = s.get(model, rid)
        for k, v in values.items():
            setattr(obj, k, v)


@pytest.fixture(autouse=True)
def english_messages(kursdesk_home):
    """The tests match messages in English (the source language)."""
    from app import i18n

    i18n.set_language("en")
    yield
    i18n.set_language("sv")
