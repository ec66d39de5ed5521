"""Issue 10: a course issued on two laptops offline. Both certificates stay valid, the duplicate
list names them on every laptop (with the same one to keep), revoking from it records "Duplicate
of <kept>", and issuing warns first when another laptop has already issued the course."""

from __future__ import annotations

import uuid
from datetime import date, timedelta

import pytest
from sqlalchemy import select

from app import i18n
from app.device import device_short
from app.errors import UserError
from app.models import Certificate, Setting
from app.services import certificates as svc
from app.sync import sync
from tests.app.test_certificates import make_course

TODAY = date(2026, 4, 1)


def _two_laptops_with_a_course(lab):
    a, b = lab.laptops[0], lab.laptops[1]
    built = make_course(a)
    sync(a, lab.share), sync(b, lab.share)
    return a, b, built


def _numbers(db):
    with db.read() as s:
        return {c.number: c for c in s.execute(select(Certificate)).scalars()}


def test_course_issued_on_two_laptops_offline_lists_duplicates_on_both(lab):
    a, b, built = _two_laptops_with_a_course(lab)
    on_a = svc.issue_certificates(a, built.course_id, today=TODAY)
    on_b = svc.issue_certificates(b, built.course_id, today=TODAY + timedelta(days=1))
    assert len(on_a) == len(on_b) == 4 and on_a.warning is None and on_b.warning is None
    sync(a, lab.share), sync(b, lab.share), sync(a, lab.share)

    for db in (a, b):
        # both stay valid: the paper may already be out
        assert {svc.verify(db, c.number).status for c in [*on_a, *on_b]} == {"valid"}
        groups = svc.duplicate_certificates(db)
        assert len(groups) == 4
        for g in groups:
            assert g.course_code == "SVETS-1" and g.masked_personal_number.endswith("-****")
            assert len(g.members) == 2
            # the earliest issued is the one to keep, on every laptop
            assert g.kept.issued_on == TODAY and g.kept.keep and not g.members[1].keep
            assert {m.device for m in g.members} == {device_short(a), device_short(b)}
            assert [m.here for m in g.members] == ([True, False] if db is a else [False, True])
        assert svc.duplicate_certificates(db, built.course_id) == groups
        overview = {r.participant_id: r for r in svc.certificate_overview(db, built.course_id)}
        assert all(len(overview[c.participant_id].duplicates) == 1 for c in on_a)
    assert [g.kept.number for g in svc.duplicate_certificates(a)] == [g.kept.number for g in svc.duplicate_certificates(b)]

    # revoking B's one from the list names A's as kept (in the language of the user interface)
    first = svc.duplicate_certificates(b)[0]
    done = svc.revoke_duplicate(b, first.members[1].id, today=TODAY + timedelta(days=2))
    assert (done.number, done.kept_number, done.reason) == (
        first.members[1].number, first.kept.number, f"Duplicate of {first.kept.number}")
    v = svc.verify(b, done.number)
    assert (v.status, v.reason) == ("revoked", f"Duplicate of {first.kept.number}")
    i18n.set_language("sv")
    second = svc.duplicate_certificates(b)[0]
    assert svc.revoke_duplicate(b, second.members[1].id).reason == f"Dubblett av {second.kept.number}"
    i18n.set_language("en")
    # the participant's last valid certificate is no duplicate
    with pytest.raises(UserError, match="only valid certificate"):
        svc.revoke_duplicate(b, first.kept.id)
    assert svc.verify(b, first.kept.number).status == "valid"
    sync(b, lab.share), sync(a, lab.share)
    assert len(svc.duplicate_certificates(a)) == 2  # the revocations reached the other laptop


def test_revoke_duplicate_of_three_keeps_the_earliest_of_the_others(db):
    built = make_course(db)
    mine = svc.issue_certificates(db, built.course_id, [built.participant_ids[0]], today=TODAY)[0]
    # two more valid ones from two other laptops, as sync would bring them
    with db.write() as s:
        for i, number in enumerate(("2026-AAAAAA-0007", "2026-BBBBBB-0003")):
            s.add(Certificate(number=number, verification_code=f"TEST-CODE-000{i}", course_id=built.course_id,
                              participant_id=mine.participant_id, issued_on=TODAY + timedelta(days=(-1, 1)[i])))
    (group,) = svc.duplicate_certificates(db)
    assert [m.number for m in group.members] == ["2026-AAAAAA-0007", mine.number, "2026-BBBBBB-0003"]
    assert [m.here for m in group.members] == [False, True, False]
    assert svc.revoke_duplicate(db, group.members[0].id).kept_number == mine.number
    assert svc.revoke_duplicate(db, group.members[2].id).kept_number == mine.number
    assert svc.duplicate_certificates(db) == []


def test_issuing_warns_when_another_laptop_has_issued_the_course(lab):
    a, b, built = _two_laptops_with_a_course(lab)
    eligible = [p.participant_id for p in svc.certificate_overview(a, built.course_id) if p.eligible]
    svc.issue_certificates(a, built.course_id, eligible[:2], today=TODAY)
    sync(a, lab.share), sync(b, lab.share)

    warning = svc.issue_warning(b, built.course_id)
    assert warning is not None and sorted(warning.participant_ids) == sorted(eligible[2:])
    assert [(o.device, o.certificates) for o in warning.laptops] == [(device_short(a), 2)]
    assert warning.laptops[0].last_sync is not None
    assert "2 participants" in warning.message() and device_short(a) in warning.message()
    # not confirmed: the participants at risk are skipped, nothing is written
    result = svc.issue_certificates(b, built.course_id, today=TODAY)
    assert list(result) == [] and result.warning == warning
    assert len(_numbers(b)) == 2
    # naming one of them is the same risk
    assert svc.issue_warning(b, built.course_id, [eligible[2]]).participant_ids == (eligible[2],)
    # confirmed: issued
    confirmed = svc.issue_certificates(b, built.course_id, today=TODAY, confirm=True)
    assert sorted(c.participant_id for c in confirmed) == sorted(eligible[2:]) and confirmed.warning is None
    assert svc.issue_warning(b, built.course_id) is None  # nobody left to issue


def test_own_certificates_do_not_warn_even_under_a_new_device_identity(lab):
    a, _b, built = _two_laptops_with_a_course(lab)
    eligible = [p.participant_id for p in svc.certificate_overview(a, built.course_id) if p.eligible]
    svc.issue_certificates(a, built.course_id, eligible[:2], today=TODAY)
    assert svc.issue_warning(a, built.course_id) is None
    old = device_short(a)
    with a.write() as s:  # this laptop continues under a new identity (a fork)
        s.get(Setting, "device_id").value = str(uuid.uuid4())
    assert device_short(a) != old
    assert svc.issue_warning(a, built.course_id) is None  # its old numbers are still its own
    assert len(svc.issue_certificates(a, built.course_id, today=TODAY)) == 2


def test_a_certificate_from_another_laptop_arriving_mid_batch_stops_the_rest(db):
    built = make_course(db)
    eligible = [p.participant_id for p in svc.certificate_overview(db, built.course_id) if p.eligible]

    def progress(done, total):
        if done == 1:  # a sync in another window brings another laptop's certificate of the course
            with db.write() as s:
                holders = set(s.execute(select(Certificate.participant_id)).scalars())
                other = next(pid for pid in eligible if pid not in holders)
                s.add(Certificate(number="2026-CCCCCC-0001", verification_code="TEST-CODE-0009",
                                  course_id=built.course_id, participant_id=other, issued_on=TODAY))
        return True

    result = svc.issue_certificates(db, built.course_id, today=TODAY, progress=progress, workers=0)
    assert len(result) == 1
    assert result.warning is not None and len(result.warning.participant_ids) == 2  # the fourth has one now
    assert [o.device for o in result.warning.laptops] == ["CCCCCC"]
    assert len(svc.issue_certificates(db, built.course_id, today=TODAY, confirm=True)) == 2
