"""Certificates: 1,000 issued and written as separate files (goal < 8 s), the same 1,000 as one
combined file (goal < 1.5 s), and bare reportlab drawing the same page in the same run (canvas
calls with the strings already made, no database), so the ratio shows what our layer costs.
Issuing draws the pages in worker processes (one per core) while this process commits each
certificate; CPU figures add the workers' CPU time, and the same batch is also issued in one
process (workers=0) for comparison.

The data set (one course, 1,000 participants who all attended) is built in the workdir: a
course of that size is not in the synthetic programme, and issuing writes to the database.

    .venv/bin/python -m benchmarks.bench_certificates      # standalone
"""

from __future__ import annotations

import io
import math
import resource
import tempfile
import time
from datetime import date
from datetime import time as dtime
from pathlib import Path

N = 1000


def _now() -> tuple[float, float]:
    """(wall, CPU) seconds: the machine is shared, so CPU time is reported too: this process's
    plus that of its finished child processes (the workers that draw the pages of a batch)."""
    me, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.perf_counter(), me.ru_utime + me.ru_stime + children.ru_utime + children.ru_stime


def _d(a, b) -> tuple[float, float]:
    return b[0] - a[0], b[1] - a[1]


def _build(workdir: Path, name: str = "certificates-bench.db"):
    from app.models import Attendance, Course, CourseSession, Enrollment, Participant, Provider, attendance_id, enrollment_id
    from app.services.settings import OrganisationSettings, save_settings
    from app.sync.capture import open_app_database

    db = open_app_database(workdir / name)
    save_settings(db, OrganisationSettings(signatory_name="Anna Lindqvist", signatory_title="Projektledare"))
    first = ["Åsa", "Łukasz", "Nguyễn Thị", "Şükrü", "Anna", "Erik", "Maria", "Johan"]
    last = ["Öberg", "Świątek", "Ánh", "Çelik", "Andersson", "Johansson", "Karlsson <&> Son", "Lindqvist"]
    with db.write() as s:
        provider = Provider(name="Campus Västervik")
        s.add(provider)
        s.flush()
        course = Course(code="BENCH-1", title="Svetsning MIG/MAG grundkurs – steg 1", provider_id=provider.id,
                        description="Säkerhet, utrustning, fogberedning och svetsning i olika lägen. " * 3,
                        learning_outcomes="Ställa in maskinen\nSvetsa kälfog i PA och PB\nBedöma en svets visuellt",
                        location="Verkstaden, Västervik")
        s.add(course)
        s.flush()
        sessions = [CourseSession(course_id=course.id, date=date(2026, 3, d), start_time=dtime(8), end_time=dtime(16))
                    for d in (2, 9, 16)]
        s.add_all(sessions)
        s.flush()
        for i in range(N):
            p = Participant(first_name=first[i % 8], last_name=f"{last[(i // 8) % 8]} {i}",
                            personal_number=f"19{70 + i % 30:02d}0101{i % 1000:03d}0")
            s.add(p)
            s.flush()
            s.add(Enrollment(id=enrollment_id(course.id, p.id), course_id=course.id, participant_id=p.id))
            for sess in sessions:
                s.add(Attendance(id=attendance_id(sess.id, p.id), session_id=sess.id, participant_id=p.id, status="present"))
    return db, course.id


def _bare_page(c, lines, matrix, qr_text):
    """The same page with plain canvas calls: strings ready-made, no services, no translation, no
    signing (the QR code holds the same signed statement, encoded here)."""
    import segno
    from reportlab.lib import colors
    from reportlab.lib.units import mm

    w, h = 595.27, 841.89
    c.setFont("DejaVuSans-Bold", 11)
    c.drawRightString(w - 62, h - 76, "Campus Västervik")
    c.setFont("DejaVuSans-Bold", 30)
    c.drawCentredString(w / 2, h - 176, "KURSINTYG")
    c.line(w / 2 - 113, h - 190, w / 2 + 113, h - 190)
    y = h - 222
    for font, size, centred, text in lines:
        c.setFont(font, size)
        (c.drawCentredString(w / 2, y, text) if centred else c.drawString(62, y, text))
        y -= size * 1.4
    # QR: encoded here too (the same mask), drawn as one path of horizontal runs
    from app.documents.certificate import QR_MASK

    code = segno.make_qr(qr_text, error="m", boost_error=False, mask=QR_MASK)
    m = 32 * mm / (len(code.matrix) + 8)
    path = c.beginPath()
    for r, row in enumerate(code.matrix):
        col, n = 0, len(row)
        while col < n:
            if row[col]:
                start = col
                while col < n and row[col]:
                    col += 1
                path.rect(450 + start * m, 200 - r * m, (col - start) * m, m)
            else:
                col += 1
    c.drawPath(path, stroke=0, fill=1)
    # EU emblem and statement
    c.setFillColor(colors.HexColor("#003399"))
    c.rect(62, 57, 42.5, 28.3, stroke=0, fill=1)
    c.setFillColor(colors.HexColor("#FFCC00"))
    for i in range(12):
        a = math.radians(90 - i * 30)
        cx, cy = 83 + 9.4 * math.cos(a), 71 + 9.4 * math.sin(a)
        p = c.beginPath()
        for k in range(10):
            rr = 1.6 if k % 2 == 0 else 0.6
            ang = math.radians(90 + k * 36)
            (p.moveTo if k == 0 else p.lineTo)(cx + rr * math.cos(ang), cy + rr * math.sin(ang))
        p.close()
        c.drawPath(p, stroke=0, fill=1)
    c.setFillColor(colors.black)
    c.setFont("DejaVuSans-Bold", 12)
    c.drawString(112, 66, "Medfinansieras av Europeiska unionen")


def _bare_lines(d):
    from app.documents.common import FONT, FONT_BOLD

    lines = [(FONT, 11, True, "Härmed intygas att"), (FONT_BOLD, 22, True, d.full_name),
             (FONT, 11, True, "född 12 mars 1985"), (FONT, 11, True, "har deltagit i kursen"),
             (FONT_BOLD, 15, True, d.course_title)]
    lines += [(FONT, 10, False, t) for t in ("Datum 2 mars 2026 – 16 mars 2026", "Schemalagda timmar 24,0",
                                             "Närvarotimmar 24,0 (100 % av de schemalagda timmarna)",
                                             "Utbildningsanordnare Campus Västervik", "Plats Verkstaden, Västervik")]
    lines += [(FONT, 10, False, d.description[i:i + 95]) for i in range(0, len(d.description), 95)]
    lines += [(FONT, 10, False, t) for t in d.learning_outcomes.splitlines()]
    lines += [(FONT, 10.5, False, "Västervik den 1 april 2026"), (FONT, 10, False, d.signatory_name),
              (FONT, 9, False, d.signatory_title), (FONT_BOLD, 10.5, False, d.number),
              (FONT_BOLD, 10.5, False, d.verification_code)]
    return lines


def measure(large_db: Path, workdir: Path) -> list[tuple[str, float, str, str]]:
    from reportlab.pdfgen.canvas import Canvas

    from app.documents.common import FONT, register_fonts
    from app.services import certificates as svc

    workdir = Path(workdir)
    # the same batch drawn in this process only (no workers), for the CPU time without the pool
    db, course_id = _build(workdir, "certificates-single.db")
    try:
        s0 = _now()
        single = svc.issue_certificates(db, course_id, today=date(2026, 4, 1), workers=0)
        svc.write_certificate_files(db, [c.id for c in single], workdir / "single")
        s1 = _now()
    finally:
        db.dispose()
    db, course_id = _build(workdir)
    try:
        t0 = _now()
        issued = svc.issue_certificates(db, course_id, today=date(2026, 4, 1))
        t1 = _now()
        paths = svc.write_certificate_files(db, [c.id for c in issued], workdir / "separate")
        t2 = _now()
        assert len(issued) == N and len(paths) == N
        svc.write_combined_pdf(db, [c.id for c in issued], workdir / "combined.pdf")
        t3 = _now()
        datas = [svc.certificate_data(db, c.id) for c in issued]
    finally:
        db.dispose()

    register_fonts()
    bare_dir = workdir / "bare"
    bare_dir.mkdir(exist_ok=True)
    prepared = [(_bare_lines(d), d.qr_text) for d in datas]
    b0 = _now()
    for i, (lines, qr_text) in enumerate(prepared):
        buf = io.BytesIO()
        c = Canvas(buf, initialFontName=FONT, invariant=1)
        _bare_page(c, lines, None, qr_text)
        c.showPage()
        c.save()
        (bare_dir / f"{i}.pdf").write_bytes(buf.getvalue())
    b1 = _now()
    c = Canvas(str(workdir / "bare-combined.pdf"), initialFontName=FONT, invariant=1)
    for lines, qr_text in prepared:
        _bare_page(c, lines, None, qr_text)
        c.showPage()
    c.save()
    b2 = _now()

    issue, write, separate, combined = _d(t0, t1), _d(t1, t2), _d(t0, t2), _d(t2, t3)
    one_process = _d(s0, s1)
    bare_sep, bare_comb = _d(b0, b1), _d(b1, b2)
    rows = []
    for label, (wall, cpu), goal in (
        ("issue 1,000 (draw, freeze, store)", issue, ""),
        ("write 1,000 frozen PDFs as files", write, ""),
        ("1,000 as separate files (issue + write)", separate, "< 8 s"),
        ("1,000 as separate files, one process (no workers)", one_process, ""),
        ("1,000 as one combined file", combined, "< 1.5 s"),
        ("bare reportlab, 1,000 separate files", bare_sep, ""),
        ("bare reportlab, one combined file", bare_comb, ""),
    ):
        rows.append((f"certificates: {label}", wall, "s", goal))
        rows.append((f"certificates: {label} (CPU)", cpu, "s", ""))
    rows += [
        ("certificates: overhead, separate files (ours / bare, CPU)", separate[1] / bare_sep[1], "x", "< 1.5x"),
        ("certificates: overhead, separate files in one process (ours / bare, CPU)", one_process[1] / bare_sep[1], "x", ""),
        ("certificates: overhead, combined file (ours / bare, CPU)", combined[1] / bare_comb[1], "x", "< 1.5x"),
    ]
    return rows

if __name__ == "__main__":
    with tempfile.TemporaryDirectory() as tmp:
        for label, value, unit, goal in measure(Path(tmp) / "unused.db", Path(tmp)):
            print(f"{label:66s} {value:8.2f} {unit:2s} {goal}")
