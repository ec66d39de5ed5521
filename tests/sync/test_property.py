"""Property: whatever the interleaving of edits, deletions, syncs and delayed or duplicated
deliveries, after every laptop synced twice all three hold the same records."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from app.models import Attendance, Participant, attendance_id, utcnow
from app.sync import sync
from tests.sync.conftest import Lab, add_course_with_session, add_participant, dump, edit

laptop = st.integers(0, 2)
pick = st.integers(0, 50)
op = st.one_of(
    st.tuples(st.just("create"), laptop, st.sampled_from(["Åsa", "Olle", "Mira"])),
    st.tuples(st.just("edit"), laptop, pick, st.sampled_from(["first_name", "email", "phone"]), st.sampled_from(["x", "y", "z"])),
    st.tuples(st.just("delete"), laptop, pick),
    st.tuples(st.just("mark"), laptop, pick, st.sampled_from(["present", "late", "absent"])),
    st.tuples(st.just("sync"), laptop),
    st.tuples(st.just("hold"), pick),  # a batch is late (OneDrive still downloading)
    st.tuples(st.just("release"),),
    st.tuples(st.just("duplicate"), pick),  # a sync tool makes a conflict copy
)


def _live(db):
    with db.read() as s:
        return s.scalars(select(Participant.id).where(Participant.deleted_at.is_(None)).order_by(Participant.id)).all()


@settings(max_examples=12, deadline=None, suppress_health_check=list(HealthCheck),
          phases=(Phase.explicit, Phase.reuse, Phase.generate))
@given(ops=st.lists(op, min_size=4, max_size=18))
def test_random_interleavings_converge(ops):
    root = Path(tempfile.mkdtemp())
    lab = Lab(root)
    held: list[tuple[Path, Path]] = []
    try:
        _course, ses = add_course_with_session(lab.laptops[0])
        for db in lab.laptops:
            sync(db, lab.share)
        counter = 0
        for step in ops:
            kind = step[0]
            if kind == "create":
                counter += 1
                add_participant(lab.laptops[step[1]], first=step[2], pnr=f"1990010{counter:05d}")
            elif kind in ("edit", "delete", "mark"):
                db = lab.laptops[step[1]]
                live = _live(db)
                if not live:
                    continue
                pid = live[step[2] % len(live)]
                if kind == "edit":
                    edit(db, Participant, pid, **{step[3]: f"{step[4]}{step[1]}"})
                elif kind == "delete":
                    edit(db, Participant, pid, deleted_at=utcnow())
                else:
                    with db.write() as s:
                        mark = s.get(Attendance, attendance_id(ses, pid))
                        if mark is None:
                            s.add(Attendance(id=attendance_id(ses, pid), session_id=ses, participant_id=pid, status=step[3]))
                        else:
                            mark.status = step[3]
            elif kind == "sync":
                sync(lab.laptops[step[1]], lab.share, confirm_mass_delete=True)
            elif kind == "hold":  # (never a laptop's first batch: an empty own folder means a wrong share)
                files = sorted(f for f in (lab.share / "devices").rglob("*.batch") if f.name != "00000001.batch")
                if files:
                    f = files[step[1] % len(files)]
                    away = root / f"held-{len(held)}"
                    shutil.move(f, away)
                    held.append((away, f))
            elif kind == "release":
                for away, f in held:
                    shutil.move(away, f)
                held.clear()
            elif kind == "duplicate":
                files = sorted((lab.share / "devices").rglob("*.batch"))
                if files:
                    f = files[step[1] % len(files)]
                    shutil.copy(f, f.with_name(f.stem + " (conflicted copy).batch"))
        for away, f in held:
            shutil.move(away, f)
        for _ in range(2):
            for db in lab.laptops:
                report = sync(db, lab.share, confirm_mass_delete=True)
        assert report.all_in
        dumps = [dump(db) for db in lab.laptops]
        assert dumps[0] == dumps[1] == dumps[2]
    finally:
        lab.close()
        shutil.rmtree(root, ignore_errors=True)
