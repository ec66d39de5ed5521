"""Issuing a batch with the pages drawn in worker processes: each certificate committed whole with
the PDF of its own number, running numbers without gaps even when someone else issues meanwhile,
cancel, a broken pool falling back to this process; and the fixed QR mask in the frozen data."""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import replace

import segno
from sqlalchemy import select

from app.documents.certificate import QR_MASK, CertificateData, render_certificate
from app.models import Certificate, Setting
from app.services import certificates as svc
from tests.app.test_certificate_pdf import sample
from tests.app.test_certificates import TODAY, make_course

ELIGIBLE = (0, 2, 4, 5)  # indexes in test_certificates.PEOPLE


def stored(db) -> list[Certificate]:
    with db.read() as s:
        rows = s.execute(select(Certificate).order_by(Certificate.number)).scalars().all()
        for r in rows:
            _ = r.pdf, r.document  # load the deferred columns while the session is open
        return rows


def assert_whole_and_redrawable(db, rows):
    for r in rows:
        assert hashlib.sha256(r.pdf).hexdigest() == r.pdf_sha256
        data = CertificateData.from_json(r.document)
        assert data.number == r.number and data.verification_code == r.verification_code
        assert render_certificate(data) == r.pdf  # the stored PDF is the page of this row's data


def seqs(rows) -> list[int]:
    return [int(r.number.rsplit("-", 1)[1]) for r in rows]


def test_workers_draw_the_same_pages_and_numbers_run_without_gaps(db):
    course = make_course(db)
    issued = svc.issue_certificates(db, course.course_id, today=TODAY, workers=2)
    assert sorted(c.participant_id for c in issued) == sorted(course.participant_ids[i] for i in ELIGIBLE)
    rows = stored(db)
    assert seqs(rows) == [1, 2, 3, 4]
    assert_whole_and_redrawable(db, rows)
    assert all(CertificateData.from_json(r.document).qr_mask == QR_MASK for r in rows)
    assert svc.issue_certificates(db, course.course_id, today=TODAY, workers=2) == []


def test_cancel_with_workers_keeps_what_was_committed(db):
    course = make_course(db)
    calls = []

    def progress(done, total):
        calls.append((done, total))
        return done < 2

    issued = svc.issue_certificates(db, course.course_id, progress=progress, today=TODAY, workers=2)
    assert len(issued) == 2 and calls == [(0, 4), (1, 4), (2, 4)]
    rows = stored(db)
    assert len(rows) == 2
    assert_whole_and_redrawable(db, rows)
    rest = svc.issue_certificates(db, course.course_id, today=TODAY, workers=2)
    assert len(rest) == 2
    assert seqs(stored(db)) == [1, 2, 3, 4]


def test_a_number_taken_meanwhile_is_planned_again(db):
    """Another window issues in between (the counter moves on): the pages already drawn with the
    planned numbers are not stored; the rest get the next free numbers, each on its own PDF."""
    course = make_course(db)
    other = make_course(db, code="CNC-2")

    def progress(done, total):
        if done == 1:
            svc.issue_certificates(db, other.course_id, participant_ids=[other.participant_ids[0]], today=TODAY)
        return True

    issued = svc.issue_certificates(db, course.course_id, progress=progress, today=TODAY, workers=1)
    assert len(issued) == 4
    rows = stored(db)
    assert seqs(rows) == [1, 2, 3, 4, 5]
    ours = {c.number for c in issued}
    assert [int(n.rsplit("-", 1)[1]) for n in sorted(ours)] == [1, 3, 4, 5]
    assert_whole_and_redrawable(db, rows)


def test_a_participant_issued_meanwhile_gets_nothing_twice(db):
    course = make_course(db)
    late = course.participant_ids[ELIGIBLE[-1]]  # the last one of the plan

    def progress(done, total):
        if done == 1:
            svc.issue_certificates(db, course.course_id, participant_ids=[late], today=TODAY, workers=0)
        return True

    issued = svc.issue_certificates(db, course.course_id, progress=progress, today=TODAY, workers=2)
    assert late not in {c.participant_id for c in issued} and len(issued) == 3
    rows = stored(db)
    assert len(rows) == 4 and len({r.participant_id for r in rows}) == 4
    assert seqs(rows) == [1, 2, 3, 4]
    assert_whole_and_redrawable(db, rows)


def _worker_dies(items):
    os._exit(3)  # a worker process that dies (as one that cannot start in a frozen program)


def test_a_broken_pool_leaves_the_drawing_to_this_process(db, monkeypatch):
    course = make_course(db)
    monkeypatch.setattr(svc, "render_certificates", _worker_dies)
    issued = svc.issue_certificates(db, course.course_id, today=TODAY, workers=2)
    assert len(issued) == 4
    rows = stored(db)
    assert seqs(rows) == [1, 2, 3, 4]
    assert_whole_and_redrawable(db, rows)


def test_small_batches_are_drawn_here_and_large_ones_on_every_core(monkeypatch):
    monkeypatch.setattr(svc.os, "cpu_count", lambda: 2)
    assert svc._worker_count(svc.POOL_MIN - 1, None) == 0
    assert svc._worker_count(1000, None) == 2
    assert svc._worker_count(1000, 0) == 0
    monkeypatch.setattr(svc.os, "cpu_count", lambda: 1)
    assert svc._worker_count(1000, None) == 0


def test_frozen_data_from_before_the_fixed_mask_redraws_with_segnos_choice():
    # a certificate whose best-scoring mask is not QR_MASK
    data = next(
        d for d in (sample(number=f"2026-7F3A-{i:04d}") for i in range(1, 50))
        if segno.make_qr(d.qr_text, error="m", boost_error=False).mask != QR_MASK
    )
    raw = json.loads(data.to_json())
    assert raw["qr_mask"] == QR_MASK
    del raw["qr_mask"]  # as frozen before the field existed
    old = CertificateData.from_json(json.dumps(raw))
    assert old.qr_mask is None
    chosen = segno.make_qr(old.qr_text, error="m", boost_error=False).mask
    assert render_certificate(old) == render_certificate(replace(old, qr_mask=chosen))
    assert render_certificate(old) != render_certificate(data)
    assert CertificateData.from_json(data.to_json()) == data  # new data keeps its fixed mask


def test_counter_setting_matches_the_numbers(db):
    course = make_course(db)
    svc.issue_certificates(db, course.course_id, today=TODAY, workers=2)
    with db.read() as s:
        counters = s.execute(select(Setting.value).where(Setting.key.like("certificate_seq:%"))).scalars().all()
    assert counters == ["4"]


def test_the_qr_modules_are_frozen_with_the_data_and_draw_the_same_page(db):
    from app.documents.certificate import modules_matrix, modules_text, qr_matrix

    course = make_course(db)
    svc.issue_certificates(db, course.course_id, today=TODAY, workers=2)
    svc.issue_certificates(db, make_course(db, code="CNC-2").course_id, today=TODAY, workers=0)
    rows = stored(db)
    assert len(rows) == 8
    for r in rows:
        data = CertificateData.from_json(r.document)
        matrix = qr_matrix(data.qr_text, data.qr_mask)
        assert data.qr_modules == modules_text(matrix) and modules_matrix(data.qr_modules) == matrix
        # without the frozen modules the code is encoded again: the same page
        assert render_certificate(replace(data, qr_modules="")) == r.pdf


def test_modules_text_round_trips_every_size():
    from app.documents.certificate import modules_matrix, modules_text, qr_matrix

    for payload in ("K", "KURSDESK:2026-7F3A-0042:ABCD-EFGH-JKMN", "https://intyg.example.se/v?nr=2026-7F3A-0042&c=ÅÄÖ" * 3):
        matrix = qr_matrix(payload, QR_MASK)
        assert modules_matrix(modules_text(matrix)) == matrix
