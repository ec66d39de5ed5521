"""The lookups every page and command needs, one way each.

A course by its code has one rule everywhere (commands, the register, the import of lists,
certificates): the code as typed (trimmed) wins; else the one course whose code matches without
regard to case (Swedish letters too: SQLite's lower() folds ASCII only, so that part is Python's
casefold; codes that differ only in case are refused when saved); none is NotFound naming the code.
"""

from __future__ import annotations

from sqlalchemy import select

from app.db import Database
from app.errors import NotFound
from app.i18n import _
from app.models import Course


def course_id_by_code(db: Database, code: str) -> str:
    wanted = " ".join(code.split())
    with db.read() as s:
        live = s.execute(select(Course.id, Course.code).where(Course.deleted_at.is_(None))).all()
    exact = [cid for cid, c in live if c == wanted]
    if exact:
        return exact[0]
    folded = [cid for cid, c in live if c.casefold() == wanted.casefold()]
    if folded:
        return folded[0]
    raise NotFound(_("Course {code} not found.").format(code=wanted))
