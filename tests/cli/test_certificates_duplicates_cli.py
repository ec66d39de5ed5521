"""`kursdesk certificates --duplicates [CODE]` (exit 0 none, 3 some), `--revoke-duplicate NUMBER`,
and issuing after another laptop: exit 2 with one line, `--confirm` issues."""

from __future__ import annotations

from datetime import date

from app.cli import main
from app.db import Database
from app.models import Certificate
from app.services import certificates as svc
from tests.app.test_certificates import make_course


def setup_db(tmp_path):
    path = tmp_path / "k.db"
    db = Database(path)
    built = make_course(db)
    return path, db, built


def foreign(db, built, participant_id, number="2026-ABCDEF-0001", code="TEST-CODE-0001", day=date(2026, 3, 30)):
    """A valid certificate of the course from another laptop, as sync brings it."""
    with db.write() as s:
        s.add(Certificate(number=number, verification_code=code, course_id=built.course_id,
                          participant_id=participant_id, issued_on=day))


def test_duplicates_exit_0_when_none_and_3_with_the_list(tmp_path, capsys):
    path, db, built = setup_db(tmp_path)
    assert main(["certificates", "--duplicates", "--db", str(path)]) == 0
    assert capsys.readouterr().out.strip() == "Inga dubbla intyg."
    mine = svc.issue_certificates(db, built.course_id, [built.participant_ids[0]], today=date(2026, 4, 1))[0]
    foreign(db, built, built.participant_ids[0])
    assert main(["certificates", "--duplicates", "--db", str(path), "--lang", "en"]) == 3
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("1 participant has more than one valid certificate")
    assert out[1].startswith("SVETS-1  Exakt Gränsen ") and out[1].endswith("-****")
    assert built.personal_numbers[0] not in "\n".join(out)  # masked
    assert "2026-ABCDEF-0001" in out[2] and "laptop ABCDEF" in out[2] and "(keep)" in out[2]  # the earlier one
    assert mine.number in out[3] and "this laptop" in out[3] and "(keep)" not in out[3]
    # with a course code: that course only
    assert main(["certificates", "SVETS-1", "--duplicates", "--db", str(path)]) == 3
    capsys.readouterr()
    other = make_course(db, code="CNC-2")
    assert main(["certificates", other.code, "--duplicates", "--db", str(path)]) == 0
    capsys.readouterr()


def test_revoke_duplicate_names_the_one_kept(tmp_path, capsys):
    path, db, built = setup_db(tmp_path)
    mine = svc.issue_certificates(db, built.course_id, [built.participant_ids[0]], today=date(2026, 4, 1))[0]
    foreign(db, built, built.participant_ids[0])
    assert main(["certificates", "--revoke-duplicate", mine.number.lower(), "--db", str(path)]) == 0
    assert capsys.readouterr().out.strip() == f"Intyg {mine.number} återkallat: Dubblett av 2026-ABCDEF-0001"
    assert svc.verify(db, mine.number).reason == "Dubblett av 2026-ABCDEF-0001"
    assert main(["certificates", "--duplicates", "--db", str(path)]) == 0
    capsys.readouterr()
    # the one left is the only valid one: no duplicate
    assert main(["certificates", "--revoke-duplicate", "2026-ABCDEF-0001", "--db", str(path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "ingen dubblett" in err[0]
    assert main(["certificates", "--revoke-duplicate", "2026-NOPE-0001", "--db", str(path)]) == 2
    assert capsys.readouterr().err.strip() == "kursdesk: Inget intyg 2026-NOPE-0001"


def test_code_and_out_are_needed_to_issue(tmp_path, capsys):
    path, _db, _built = setup_db(tmp_path)
    for argv in (["certificates"], ["certificates", "SVETS-1"], ["certificates", "--out", str(tmp_path / "o")],
                 ["certificates", "--duplicates", "--revoke-duplicate", "X"]):
        assert main([*argv, "--db", str(path)]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and err[0].startswith("kursdesk: "), err
    assert not (tmp_path / "o").exists()


def test_issuing_after_another_laptop_needs_confirm(tmp_path, capsys):
    path, db, built = setup_db(tmp_path)
    foreign(db, built, built.participant_ids[0])  # another laptop issued this course
    out = tmp_path / "intyg"
    assert main(["certificates", "SVETS-1", "--out", str(out), "--db", str(path), "--lang", "en"]) == 2
    captured = capsys.readouterr()
    err = captured.err.strip().splitlines()
    assert len(err) == 1 and "already been issued on another laptop: ABCDEF (never synced here)" in err[0]
    assert "3 participants" in err[0] and err[0].endswith("To issue anyway: --confirm.")
    assert len(svc.list_certificates(db)) == 1 and not out.exists()
    assert main(["certificates", "SVETS-1", "--out", str(out), "--db", str(path), "--confirm"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 4 and lines[-1].startswith("3 intyg utfärdade")
    assert len(svc.list_certificates(db)) == 4
