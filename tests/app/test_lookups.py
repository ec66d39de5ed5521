"""One rule for a course by its code, for every command and page."""

from __future__ import annotations

import pytest

from app.errors import NotFound
from app.interchange.participant_list import find_course_id
from app.services import attendance, certificates
from app.services.courses import CourseData, create_course
from app.services.lookups import course_id_by_code


@pytest.mark.parametrize("lookup", [course_id_by_code, attendance.course_id_by_code, certificates.course_id_by_code,
                                    find_course_id])
def test_the_code_as_typed_wins_else_one_match_without_regard_to_case(db, lookup):
    weld = create_course(db, CourseData("SVETS-Ö1", "Svetsning"))
    other = create_course(db, CourseData("abc-1", "Liten"))
    assert lookup(db, "SVETS-Ö1") == weld
    assert lookup(db, " svets-ö1 ") == weld  # trimmed, and Swedish letters fold too
    assert lookup(db, "ABC-1") == other
    with pytest.raises(NotFound) as err:
        lookup(db, "NOPE ")
    assert str(err.value) == "Kursen NOPE hittades inte."  # one message for one lookup
