"""Course certificates (kursintyg): who is eligible, issuing (frozen at issue), re-issuing,
revoking, verifying, the register, and writing the PDFs.

- A certificate is issued once per participant and course: while a live (not revoked)
  certificate exists, issuing again creates nothing. A correction is a re-issue: a new
  certificate with a new number that supersedes the old one; the old one is revoked
  ("Ersatt av <nr>") and stays on record. Nothing here ever deletes a certificate.
- The PDF is drawn when the certificate is issued and stored with its SHA-256 and the exact
  data it was drawn from, in the same transaction as the row. A reprint returns the stored
  bytes, so a later change of a name, logo or course text changes no certificate already given.
- Numbers `YYYY-DDDD-NNNN` (year, this laptop's short device id, a running number per laptop
  and year kept in the settings table) are unique across laptops that create them offline.
  The verification code is 12 random Crockford base32 characters from `secrets`
  (`ABCD-EFGH-JKMN`, 60 bits): nothing about it follows from the number.
- Two processes on one database (the window and a scheduled job): the running number, the
  "already issued" check and the insert are one `db.write()` transaction (SQLite's write lock
  from its first statement), so each participant gets one certificate and numbers stay unique.
- Two laptops offline can still both issue a course. Sync then brings a second valid certificate
  of the same participant and course: both stay valid (the paper may be out), and
  `duplicate_certificates` lists them until the coordinator revokes one (`revoke_duplicate`,
  reason "Dubblett av <kept number>" in the language of the user interface, like "Ersatt av").
  To make that rarer, issuing first warns (`issue_warning`, `Issued.warning`) when another
  laptop has already issued the course: see `issue_certificates`.
"""

from __future__ import annotations

import hashlib
import multiprocessing
import os
import re
import secrets
import tempfile
import unicodedata
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

from sqlalchemy import and_, bindparam, func, not_, or_, select
from sqlalchemy.orm import undefer

from app.db import Database
from app.device import device_short
from app.documents.certificate import (
    LAYOUT,
    CertificateData,
    render_certificate,
    render_certificates,
    warm_up,
    with_qr,
    write_certificates_pdf,
)
from app.errors import NotFound, Problem, UserError, ValidationError
from app.i18n import _, format_datetime, ngettext, translate_in
from app.models import (
    CERTIFICATE_LANGUAGES,
    Attendance,
    Certificate,
    Course,
    CourseSession,
    Enrollment,
    Participant,
    Provider,
    Setting,
    SyncPeer,
    new_id,
)
from app.progress import Progress
from app.services.certificate_settings import get_certificate_settings
from app.services.settings import get_settings
from app.signing import statement
from app.signing.key import signing_key
from app.validation import birth_date_from_personal_number, mask_personal_number

KIND_COURSE = "course"  # kursintyg: the course's minimum attendance reached
KIND_PARTICIPATION = "participation"  # deltagarintyg: every participant with attended minutes
KINDS = (KIND_COURSE, KIND_PARTICIPATION)
_SEQ_KEY = "certificate_seq:{prefix}"

CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_CROCKFORD_ALIASES = str.maketrans({"O": "0", "I": "1", "L": "1"})
_NUMBER_RE = re.compile(r"^\d{4}-[0-9A-Z]{4,8}-\d{4,}$")


# --- plain data -------------------------------------------------------------------------------

@dataclass(frozen=True)
class CertificateRef:
    id: str
    number: str
    status: str  # 'valid' | 'revoked'


@dataclass(frozen=True)
class CertificateCandidate:
    participant_id: str
    full_name: str
    masked_personal_number: str
    company_name: str
    scheduled_minutes: int
    attended_minutes: int
    percent: float  # 0..100
    eligible: bool
    language: str  # the certificate language that applies (enrollment's, else the course's)
    certificate: CertificateRef | None  # the live certificate, else the latest revoked one
    duplicates: tuple[str, ...] = ()  # numbers of further valid certificates (from another laptop)
    participation: CertificateRef | None = None  # the certificate of participation, as `certificate`


@dataclass(frozen=True)
class IssuedCertificate:
    id: str
    number: str
    verification_code: str
    participant_id: str
    full_name: str
    course_code: str
    language: str
    issued_on: date


@dataclass(frozen=True)
class Verification:
    status: str  # 'valid' | 'revoked' | 'unknown'
    number: str = ""
    holder_name: str = ""
    course_code: str = ""
    course_title: str = ""
    issued_on: date | None = None
    revoked_on: date | None = None
    reason: str = ""


@dataclass(frozen=True)
class CertificateRow:
    id: str
    number: str
    verification_code: str
    course_id: str
    course_code: str
    course_title: str
    participant_id: str
    holder_name: str  # as printed on the certificate
    issued_on: date
    language: str
    status: str  # 'valid' | 'revoked'
    revoked_on: date | None
    revoke_reason: str
    supersedes_number: str
    kind: str = KIND_COURSE


# --- numbers and codes -----------------------------------------------------------------------

def new_verification_code() -> str:
    """12 random Crockford base32 characters in three groups, e.g. 'K7QM-2XRD-9HVA'."""
    raw = "".join(secrets.choice(CROCKFORD) for _ in range(12))
    return f"{raw[:4]}-{raw[4:8]}-{raw[8:]}"


def normalize_code(value: str) -> str:
    """A verification code as typed (any case, spaces, O for 0, I/L for 1) in its stored form."""
    raw = re.sub(r"[\s-]", "", value.upper()).translate(_CROCKFORD_ALIASES)
    if len(raw) != 12 or any(ch not in CROCKFORD for ch in raw):
        return ""
    return f"{raw[:4]}-{raw[4:8]}-{raw[8:]}"


def _last_used(s, prefix: str) -> int:
    """The highest running number certificates with this prefix already use."""
    used = s.execute(select(Certificate.number).where(Certificate.number.like(f"{prefix}-%"))).scalars()
    return max((int(n.rsplit("-", 1)[1]) for n in used if n.rsplit("-", 1)[1].isdigit()), default=0)


def _last_number(s, prefix: str) -> int:
    """The running number last given on this laptop this year (nothing changed)."""
    row = s.get(Setting, _SEQ_KEY.format(prefix=prefix))
    return int(row.value or 0) if row is not None else _last_used(s, prefix)


def _number(prefix: str, seq: int) -> str:
    return f"{prefix}-{seq:04d}"


def _next_number(s, prefix: str) -> str:
    """The next running number of this laptop and year, kept in the settings table (never
    synced), and never below what certificates with this prefix already use."""
    key = _SEQ_KEY.format(prefix=prefix)
    row = s.get(Setting, key)
    if row is None:
        row = Setting(key=key, value=str(_last_used(s, prefix)))
        s.add(row)
    seq = int(row.value or 0) + 1
    row.value = str(seq)
    return _number(prefix, seq)


def _new_code(s) -> str:
    while True:
        code = new_verification_code()
        if s.execute(select(Certificate.id).where(Certificate.verification_code == code)).first() is None:
            return code


# --- helpers ---------------------------------------------------------------------------------

def _course(s, course_id: str) -> Course:
    course = s.get(Course, course_id)
    if course is None or course.deleted_at is not None:
        raise NotFound(_("The course does not exist."))
    return course


def course_id_by_code(db: Database, code: str) -> str:
    """The course with this code (app/services/lookups.py's one rule)."""
    from app.services.lookups import course_id_by_code as lookup

    return lookup(db, code)


def _status(c: Certificate) -> str:
    return "revoked" if c.revoked_on is not None else "valid"


def _live_filter():
    return (Certificate.deleted_at.is_(None), Certificate.revoked_on.is_(None))


def _birth_date(pnr: str) -> date | None:
    try:
        return birth_date_from_personal_number(pnr)
    except Exception:  # a stored number that is not a date prints no birth date
        return None


def _summary(db: Database, course_id: str):
    from app.services.attendance import course_attendance_summary

    return course_attendance_summary(db, course_id)


def _attended_dates(db: Database, course_id: str) -> dict[str, tuple[date, date]]:
    """Each participant's first and last day with attended minutes (present or late) in the course."""
    with db.read() as s:
        rows = s.execute(
            select(Attendance.participant_id, func.min(CourseSession.date), func.max(CourseSession.date))
            .join(CourseSession, CourseSession.id == Attendance.session_id)
            .where(CourseSession.course_id == course_id, CourseSession.deleted_at.is_(None),
                   CourseSession.cancelled.is_(False), Attendance.deleted_at.is_(None),
                   Attendance.status.in_(("present", "late")), or_(Attendance.minutes.is_(None), Attendance.minutes > 0))
            .group_by(Attendance.participant_id)
        ).all()
    return {pid: (first, last) for pid, first, last in rows}


def _stop(progress: Progress | None, done: int, total: int) -> bool:
    return progress is not None and progress(done, total) is False


# --- the overview of a course ------------------------------------------------------------------

def certificate_overview(db: Database, course_id: str) -> list[CertificateCandidate]:
    """Every enrolled (or completed) participant with attendance, eligibility and certificate."""
    people = _summary(db, course_id)
    with db.read() as s:
        course = _course(s, course_id)
        course_lang = course.certificate_language or "sv"
        langs = dict(
            s.execute(
                select(Enrollment.participant_id, Enrollment.certificate_language).where(
                    Enrollment.course_id == course_id, Enrollment.deleted_at.is_(None)
                )
            ).all()
        )
        certs = s.execute(
            select(Certificate.participant_id, Certificate.id, Certificate.number, Certificate.revoked_on,
                   Certificate.kind)
            .where(Certificate.course_id == course_id, Certificate.deleted_at.is_(None))
            .order_by(Certificate.created_at)
        ).all()
    by_participant: dict[str, CertificateRef] = {}
    participation: dict[str, CertificateRef] = {}
    more: dict[str, list[str]] = {}
    for pid, cid, number, revoked_on, kind in certs:
        ref = CertificateRef(cid, number, "revoked" if revoked_on else "valid")
        held = participation if kind == KIND_PARTICIPATION else by_participant
        current = held.get(pid)
        if current is None or current.status == "revoked":  # a live one wins, else the latest
            held[pid] = ref
        elif ref.status == "valid" and kind != KIND_PARTICIPATION:
            more.setdefault(pid, []).append(number)
    return [
        CertificateCandidate(
            participant_id=p.participant_id,
            full_name=p.full_name,
            masked_personal_number=p.masked_personal_number,
            company_name=p.company_name,
            scheduled_minutes=p.scheduled_minutes,
            attended_minutes=p.attended_minutes,
            percent=p.percent,
            eligible=p.eligible,
            language=langs.get(p.participant_id) or course_lang,
            certificate=by_participant.get(p.participant_id),
            duplicates=tuple(more.get(p.participant_id, ())),
            participation=participation.get(p.participant_id),
        )
        for p in people
    ]


# --- issuing ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class _CourseFacts:
    """What every certificate of a course shares, looked up once per batch."""

    course_id: str
    code: str
    title: str
    description: str
    learning_outcomes: str
    location: str
    language: str
    provider_name: str
    first_date: date | None
    last_date: date | None
    organisation_name: str
    programme_name: str
    place: str
    signatory_name: str
    signatory_title: str
    logo_png: bytes
    verifier_url: str
    prefix_device: str
    english: dict  # the English texts by field name (empty values: not translated)
    contact: str  # the issuer's contact details, one line
    signer: object  # the Ed25519 key that signs the statements


def _english_or_swedish(facts: _CourseFacts, lang: str, name: str) -> str:
    """A text in the certificate's language: the English one when set for an English certificate."""
    if lang == "en" and facts.english.get(name):
        return facts.english[name]
    return getattr(facts, name)


def _course_facts(db: Database, course_id: str) -> _CourseFacts:
    settings = get_settings(db)
    logo = b""
    if settings.logo_path:
        try:
            logo = Path(settings.logo_path).read_bytes()
        except OSError:  # a missing logo file must not stop certificates
            logo = b""
    extra = get_certificate_settings(db)
    device = device_short(db)
    signer = signing_key()
    with db.read() as s:
        course = _course(s, course_id)
        provider = s.get(Provider, course.provider_id) if course.provider_id else None
        first, last = s.execute(
            select(func.min(CourseSession.date), func.max(CourseSession.date)).where(
                CourseSession.course_id == course_id,
                CourseSession.deleted_at.is_(None),
                CourseSession.cancelled.is_(False),
            )
        ).one()
        return _CourseFacts(
            course_id=course.id,
            code=course.code,
            title=course.title,
            description=course.description or "",
            learning_outcomes=course.learning_outcomes or "",
            location=course.location or "",
            language=course.certificate_language or "sv",
            provider_name=provider.name if provider is not None and provider.deleted_at is None else "",
            first_date=first,
            last_date=last,
            organisation_name=settings.organisation_name,
            programme_name=settings.programme_name,
            place=settings.place,
            signatory_name=settings.signatory_name,
            signatory_title=settings.signatory_title,
            logo_png=logo,
            verifier_url=extra.verifier_url,
            prefix_device=device,
            english={"title": course.title_en, "description": course.description_en,
                     "learning_outcomes": course.learning_outcomes_en,
                     "organisation_name": extra.organisation_name_en, "programme_name": extra.programme_name_en,
                     "signatory_title": extra.signatory_title_en},
            contact=extra.contact_lines(),
            signer=signer,
        )


def _language(lang: str | None, enrollment_lang: str, facts: _CourseFacts) -> str:
    for candidate in (lang, enrollment_lang, facts.language):
        if candidate in CERTIFICATE_LANGUAGES:
            return candidate
    return "sv"


def _holder(participant: Participant) -> tuple[str, date | None]:
    """The name and birth date printed on a certificate."""
    return f"{participant.first_name} {participant.last_name}".strip(), _birth_date(participant.personal_number)


def _data(
    facts: _CourseFacts, person, holder: tuple[str, date | None], lang: str, number: str, code: str, today: date,
    kind: str = KIND_COURSE, dates: tuple[date | None, date | None] | None = None,
) -> CertificateData:
    """Everything printed on the certificate: the frozen data it is drawn from, with the signed
    statement its QR code carries. `dates`: the first and last day attended (a certificate of
    participation), else the course's first and last day."""
    first, last = dates or (facts.first_date, facts.last_date)
    title = _english_or_swedish(facts, lang, "title")
    issuer = _english_or_swedish(facts, lang, "organisation_name")
    signed = statement.sign(statement.Statement(
        kind=statement.KIND_PARTICIPATION if kind == KIND_PARTICIPATION else statement.KIND_COURSE,
        number=number, code=code, holder=holder[0], birth_date=holder[1], course_code=facts.code,
        course_title=title, attended_minutes=person.attended_minutes, first_date=first, last_date=last,
        issued_on=today, issuer=issuer,
    ), facts.signer)
    return CertificateData(
        lang=lang,
        number=number,
        verification_code=code,
        full_name=holder[0],
        birth_date=holder[1],
        course_code=facts.code,
        course_title=title,
        description=_english_or_swedish(facts, lang, "description"),
        learning_outcomes=_english_or_swedish(facts, lang, "learning_outcomes"),
        first_date=first,
        last_date=last,
        scheduled_minutes=person.scheduled_minutes,
        attended_minutes=person.attended_minutes,
        provider_name=facts.provider_name,
        location=facts.location,
        organisation_name=issuer,
        programme_name=_english_or_swedish(facts, lang, "programme_name"),
        place=facts.place,
        issued_on=today,
        signatory_name=facts.signatory_name,
        signatory_title=_english_or_swedish(facts, lang, "signatory_title"),
        logo_png=facts.logo_png,
        qr_payload=statement.qr_text(signed, facts.verifier_url),
        layout=LAYOUT,
        kind=kind,
        contact=facts.contact,
        statement=signed,
        verifier_url=facts.verifier_url,
    )


def _add(
    s, facts: _CourseFacts, person, data: CertificateData, pdf: bytes, supersedes_id: str | None = None
) -> Certificate:
    """The certificate row with its frozen PDF and data, added to session `s` (the caller's
    transaction, so the row never exists without its PDF)."""
    cert = Certificate(
        id=new_id(),
        number=data.number,
        verification_code=data.verification_code,
        course_id=facts.course_id,
        participant_id=person.participant_id,
        issued_on=data.issued_on,
        language=data.lang,
        kind=data.kind,
        supersedes_id=supersedes_id,
        pdf=pdf,
        pdf_sha256=hashlib.sha256(pdf).hexdigest(),
        document=data.to_json(),
    )
    s.add(cert)  # flushed once, at commit
    return cert


def _create(s, facts: _CourseFacts, person, lang: str, today: date, supersedes_id: str | None = None,
            kind: str = KIND_COURSE, dates=None) -> Certificate:
    """One certificate drawn and added inside the caller's transaction (a single one: re-issue)."""
    number = _next_number(s, f"{today.year}-{facts.prefix_device}")
    data = _data(facts, person, _holder(s.get(Participant, person.participant_id)), lang, number, _new_code(s), today,
                 kind, dates)
    data = with_qr(data)
    return _add(s, facts, person, data, render_certificate(data), supersedes_id)


def _issued(cert: Certificate, full_name: str, code: str) -> IssuedCertificate:
    return IssuedCertificate(
        id=cert.id,
        number=cert.number,
        verification_code=cert.verification_code,
        participant_id=cert.participant_id,
        full_name=full_name,
        course_code=code,
        language=cert.language,
        issued_on=cert.issued_on,
    )


# --- which laptop issued a certificate --------------------------------------------------------

def number_device(number: str) -> str:
    """The laptop part of a certificate number: '2026-7F3A9C-0001' -> '7F3A9C' ('' if none)."""
    parts = (number or "").split("-")
    return parts[1] if len(parts) >= 3 else ""


def _own_devices(s, current: str) -> set[str]:
    """The short ids this laptop has issued under: its current one and every one it keeps a
    running-number counter for (settings are never synced, so a laptop that continued under a
    new identity still counts its older numbers as its own)."""
    keys = s.execute(select(Setting.key).where(Setting.key.like(_SEQ_KEY.format(prefix="%")))).scalars()
    return {current} | {k.split(":", 1)[1].split("-", 1)[-1] for k in keys}


def _foreign(own: set[str]):
    """SQL condition: a certificate whose number carries another laptop's short id."""
    return not_(or_(*[Certificate.number.like(f"%-{d}-%") for d in sorted(own)]))


@dataclass(frozen=True)
class OtherLaptop:
    device: str  # the short id in its certificate numbers
    certificates: int  # certificates of the course from it, on record here
    last_sync: datetime | None  # when this laptop last synced with it (UTC), None: never


@dataclass(frozen=True)
class IssueWarning:
    """Another laptop has issued this course: the eligible participants without a certificate
    here may hold one from there whose batch has not arrived yet. They are skipped unless
    issuing is confirmed."""

    course_code: str
    participant_ids: tuple[str, ...]
    laptops: tuple[OtherLaptop, ...]

    def message(self) -> str:
        laptops = ", ".join(
            _("{device} (last synced {when})").format(device=o.device, when=_local_time(o.last_sync))
            if o.last_sync else _("{device} (never synced here)").format(device=o.device)
            for o in self.laptops
        )
        n = len(self.participant_ids)
        return ngettext(
            "Course {code} has already been issued on another laptop: {laptops}. {n} participant without a "
            "certificate here may already have one from there that has not arrived yet. Sync first.",
            "Course {code} has already been issued on another laptop: {laptops}. {n} participants without a "
            "certificate here may already have one from there that has not arrived yet. Sync first.",
            n,
        ).format(code=self.course_code, laptops=laptops, n=n)


def _local_time(value: datetime) -> str:
    return format_datetime(value.replace(tzinfo=UTC).astimezone().replace(tzinfo=None))


class Issued(list):
    """The certificates issued (IssuedCertificate, in order) and `warning`, set when participants
    were skipped because another laptop has issued the course (see issue_certificates)."""

    warning: IssueWarning | None = None

    def __init__(self, items=(), warning: IssueWarning | None = None):
        super().__init__(items)
        self.warning = warning


def _other_laptops(s, course_id: str, own: set[str]) -> tuple[OtherLaptop, ...]:
    numbers = s.execute(
        select(Certificate.number).where(Certificate.course_id == course_id, Certificate.deleted_at.is_(None), _foreign(own))
    ).scalars().all()
    if not numbers:
        return ()
    counts: dict[str, int] = {}
    for number in numbers:
        counts[number_device(number)] = counts.get(number_device(number), 0) + 1
    synced = {
        peer.device_id.replace("-", "")[:6].upper(): peer.updated_at for peer in s.execute(select(SyncPeer)).scalars()
    }
    return tuple(OtherLaptop(d, n, synced.get(d)) for d, n in sorted(counts.items()))


def _qualifies(person, kind: str) -> bool:
    """A course certificate needs the course's minimum; one of participation, attended minutes."""
    return person.attended_minutes > 0 if kind == KIND_PARTICIPATION else person.eligible


def _targets(db: Database, course_id: str, participant_ids: Iterable[str] | None, kind: str = KIND_COURSE):
    """Who would get a certificate of `kind` now (qualified, no live one), and everyone's language."""
    people = {p.participant_id: p for p in _summary(db, course_id)}
    with db.read() as s:
        holders = set(
            s.execute(select(Certificate.participant_id).where(
                Certificate.course_id == course_id, Certificate.kind == kind, *_live_filter()
            )).scalars()
        )
        langs = dict(
            s.execute(
                select(Enrollment.participant_id, Enrollment.certificate_language).where(
                    Enrollment.course_id == course_id, Enrollment.deleted_at.is_(None)
                )
            ).all()
        )
    if participant_ids is None:
        return [p for p in people.values() if _qualifies(p, kind) and p.participant_id not in holders], langs
    targets = []
    for pid in dict.fromkeys(participant_ids):
        person = people.get(pid)
        if person is None:
            raise UserError(_("The participant is not enrolled in this course."))
        if not _qualifies(person, kind):
            if kind == KIND_PARTICIPATION:
                raise UserError(_("{name} has attended no session of the course.").format(name=person.full_name))
            raise UserError(_("{name} has not reached the course's minimum attendance.").format(name=person.full_name))
        if pid not in holders:
            targets.append(person)
    return targets, langs


def _warning(db: Database, course_id: str, people) -> IssueWarning | None:
    if not people:
        return None
    device = device_short(db)
    with db.read() as s:
        laptops = _other_laptops(s, course_id, _own_devices(s, device))
        code = _course(s, course_id).code
    if not laptops:
        return None
    return IssueWarning(code, tuple(p.participant_id for p in people), laptops)


def issue_warning(db: Database, course_id: str, participant_ids: Iterable[str] | None = None,
                  kind: str = KIND_COURSE) -> IssueWarning | None:
    """What `issue_certificates` (not confirmed) would skip: None when nothing is at risk. For a
    question before issuing (the page asks, the command line wants --confirm)."""
    targets, _langs = _targets(db, course_id, participant_ids, kind)
    return _warning(db, course_id, targets)


def issue_certificates(
    db: Database,
    course_id: str,
    participant_ids: Iterable[str] | None = None,
    lang: str | None = None,
    progress: Progress | None = None,
    today: date | None = None,
    workers: int | None = None,
    confirm: bool = False,
    kind: str = KIND_COURSE,
) -> Issued:
    """Issue certificates to the given participants (default: every eligible one without a live
    certificate). Someone who already holds a live certificate of the course gets nothing new.
    Each certificate is committed whole (row, PDF, hash) in its own transaction, in which its
    number, the "already issued" check and the insert are decided together; when
    `progress(done, total)` returns False the batch stops and what was issued stays. `lang`
    overrides the certificate language. A named participant who is not eligible is a
    UserError (nothing issued). The pages of a large batch are drawn in `workers` processes
    (default: one per core from POOL_MIN certificates on; 0: in this process).

    At risk, and skipped unless `confirm`: when this database holds certificates of the course
    from another laptop (their numbers carry its short id), every participant who would get a
    certificate here may hold one from there already, issued after this laptop last got that
    laptop's changes. Nothing on this laptop can tell which, so all of them are skipped and
    `Issued.warning` says how many and names the laptops with their last sync. The same holds
    when such a certificate arrives while the batch runs (a sync in another window): the rest
    is skipped.

    `kind` KIND_PARTICIPATION: certificates of participation (deltagarintyg) to everyone with
    attended minutes, numbered, frozen and signed the same way, beside the course certificates."""
    if lang is not None and lang not in CERTIFICATE_LANGUAGES:
        raise ValidationError(Problem("language", _("Unknown language.")))
    if kind not in KINDS:
        raise ValidationError(Problem("kind", _("Unknown kind of certificate.")))
    today = today or date.today()
    targets, langs = _targets(db, course_id, participant_ids, kind)
    if not confirm:
        warning = _warning(db, course_id, targets)
        if warning is not None:
            return Issued([], warning)
    total = len(targets)
    if total == 0:
        return Issued()
    facts = _course_facts(db, course_id)
    with db.read() as s:
        holder = {
            p.id: _holder(p)
            for chunk in _chunks([p.participant_id for p in targets], 500)
            for p in s.execute(select(Participant).where(Participant.id.in_(chunk))).scalars()
        }
        own = _own_devices(s, facts.prefix_device)
    dates = _attended_dates(db, course_id) if kind == KIND_PARTICIPATION else {}
    prefix = f"{today.year}-{facts.prefix_device}"
    issued = Issued()
    if _stop(progress, 0, total):
        return issued
    queue = deque(targets)
    done = 0
    # built once: a live certificate of this person, or one with the planned code
    check = select(Certificate.verification_code).where(
        or_(
            and_(
                Certificate.course_id == course_id,
                Certificate.participant_id == bindparam("participant"),
                Certificate.kind == kind,
                *_live_filter(),
            ),
            Certificate.verification_code == bindparam("code"),
        )
    )
    # not confirmed: a certificate of this course from another laptop that arrived meanwhile
    arrived = select(Certificate.id).where(
        Certificate.course_id == course_id, Certificate.deleted_at.is_(None), _foreign(own)
    ).limit(1)
    with _Renderer(_worker_count(total, workers)) as renderer:
        while queue:
            # the plan: the running numbers the next certificates will get if nobody else issues
            # in between (checked again as each one is committed; otherwise planned anew)
            with db.read() as s:
                last = _last_number(s, prefix)
            plan = [
                _data(facts, person, holder[person.participant_id],
                      _language(lang, langs.get(person.participant_id, ""), facts),
                      _number(prefix, last + i), new_verification_code(), today,
                      kind, dates.get(person.participant_id))
                for i, person in enumerate(queue, start=1)
            ]
            pages = renderer.render(plan)
            stopped = False
            try:
                for data, pdf in pages:
                    person = queue[0]
                    with db.write() as s:
                        # decided inside the transaction that inserts (the write lock is held from
                        # its start): a second click, another window or a scheduled job may have
                        # issued it, or used the planned number or code meanwhile (one query for
                        # both: a live certificate of this person, or the code)
                        found = s.execute(
                            check, {"participant": person.participant_id, "code": data.verification_code}
                        ).scalars().all()
                        held = any(code != data.verification_code for code in found)
                        if not held and not confirm and s.execute(arrived).first() is not None:
                            stopped = True
                            break  # another laptop's certificate of this course arrived: ask first
                        if not held:
                            if found or _last_number(s, prefix) + 1 != int(data.number.rsplit("-", 1)[1]):
                                break  # plan again from this participant (nothing written)
                            _next_number(s, prefix)
                            cert = _add(s, facts, person, data, pdf)
                            issued.append(_issued(cert, person.full_name, facts.code))
                    queue.popleft()
                    done += 1
                    if _stop(progress, done, total):
                        return issued
                    if held:
                        break  # the planned numbers of the rest are one too high now
            finally:
                pages.close()  # drops the pages still being drawn for this plan
            if stopped:
                rest, _langs = _targets(db, course_id, [p.participant_id for p in queue], kind)
                issued.warning = _warning(db, course_id, rest)
                return issued
    return issued


# --- drawing many certificates on every core ---------------------------------------------------

#: from how many certificates a batch is drawn in worker processes: starting a worker costs
#: ~0.3 s CPU (imports, fonts) and a page ~7 ms, so a course of a few dozen is drawn here
POOL_MIN = 100
_CHUNK = 8  # certificates per task sent to a worker


def _worker_count(total: int, workers: int | None) -> int:
    """How many worker processes draw the pages (0: this process draws them)."""
    if workers is not None:
        return max(0, workers)
    if total < POOL_MIN:
        return 0
    return min(os.cpu_count() or 1, 4) if (os.cpu_count() or 1) > 1 else 0


def _draw_here(items: list[CertificateData]) -> list[tuple[CertificateData, bytes]]:
    """The pages drawn in this process (no pool, or a broken one)."""
    from app.documents import certificate as document

    return document.render_certificates(items)


class _Renderer:
    """Draws planned certificates in order, in a pool of worker processes (the database work
    stays in this process: each certificate is committed whole as its PDF arrives). A pool that
    cannot start or breaks leaves the drawing to this process."""

    def __init__(self, workers: int):
        self.workers = workers
        self.pool: ProcessPoolExecutor | None = None

    def __enter__(self) -> _Renderer:
        if self.workers > 0:
            try:
                self.pool = ProcessPoolExecutor(
                    max_workers=self.workers, mp_context=multiprocessing.get_context("spawn"), initializer=warm_up
                )
            except (OSError, ValueError):
                self.pool = None
        return self

    def __exit__(self, *exc) -> None:
        if self.pool is not None:
            self.pool.shutdown(wait=True, cancel_futures=True)

    def render(self, plan: list[CertificateData]) -> Iterator[tuple[CertificateData, bytes]]:
        """(data, pdf) for each planned certificate, in order. Closing the iterator early cancels
        the pages not yet started."""
        if self.pool is None:
            for data in plan:
                yield from _draw_here([data])
            return
        chunks = deque(plan[i : i + _CHUNK] for i in range(0, len(plan), _CHUNK))
        running: deque[tuple[list[CertificateData], Future]] = deque()
        try:
            while chunks or running:
                while chunks and len(running) < 2 * self.workers + 1:  # a few ahead, not all
                    chunk = chunks.popleft()
                    running.append((chunk, self.pool.submit(render_certificates, chunk)))
                chunk, future = running.popleft()
                try:
                    pdfs = future.result()
                except BrokenProcessPool:
                    # a worker died or could not start: draw the rest here
                    self.pool.shutdown(wait=False, cancel_futures=True)
                    self.pool = None
                    rest = [d for d in chunk] + [d for c, _ in running for d in c] + [d for c in chunks for d in c]
                    running.clear()
                    chunks.clear()
                    for data in rest:
                        yield from _draw_here([data])
                    return
                yield from pdfs
        finally:
            for _, future in running:
                future.cancel()


def _reason_required(reason: str) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError(Problem("reason", _("Give a reason.")))
    return reason


def _live_certificate(s, certificate_id: str) -> Certificate:
    cert = s.get(Certificate, certificate_id)
    if cert is None or cert.deleted_at is not None:
        raise NotFound(_("The certificate does not exist."))
    if cert.revoked_on is not None:
        raise UserError(_("Certificate {number} is already revoked.").format(number=cert.number))
    return cert


def revoke_certificate(db: Database, certificate_id: str, reason: str, today: date | None = None) -> CertificateRef:
    """Revoke with a reason (required). The certificate stays on record; verify reports it."""
    reason = _reason_required(reason)
    with db.write() as s:
        cert = _live_certificate(s, certificate_id)
        cert.revoked_on = today or date.today()
        cert.revoke_reason = reason
        return CertificateRef(cert.id, cert.number, "revoked")


def reissue_certificate(
    db: Database, certificate_id: str, reason: str = "", lang: str | None = None, today: date | None = None
) -> IssuedCertificate:
    """A correction: a new certificate (new number, drawn from today's data) that supersedes the
    old one, which is revoked with the reason "Ersatt av <new number>" and stays on record."""
    today = today or date.today()
    with db.read() as s:
        old = _live_certificate(s, certificate_id)
        course_id, participant_id, old_lang, kind = old.course_id, old.participant_id, old.language, old.kind
    person = next((p for p in _summary(db, course_id) if p.participant_id == participant_id), None)
    if person is None:
        raise UserError(_("The participant is not enrolled in this course."))
    facts = _course_facts(db, course_id)
    with db.write() as s:
        old = _live_certificate(s, certificate_id)
        new = _create(s, facts, person, _language(lang, old_lang, facts), today, supersedes_id=old.id, kind=kind,
                      dates=_attended_dates(db, course_id).get(participant_id) if kind == KIND_PARTICIPATION else None)
        note = _("Superseded by {number}").format(number=new.number)
        old.revoked_on = today
        old.revoke_reason = f"{note}: {reason.strip()}" if reason and reason.strip() else note
        return _issued(new, person.full_name, facts.code)


# --- duplicates: a second valid certificate from another laptop ---------------------------------

@dataclass(frozen=True)
class DuplicateMember:
    id: str
    number: str
    issued_on: date
    language: str
    device: str  # the short id of the laptop that issued it (from its number)
    here: bool  # issued on this laptop
    keep: bool  # the one to keep: the earliest issued (then the lowest number), the same on every laptop


@dataclass(frozen=True)
class DuplicateGroup:
    """One participant with more than one valid certificate of one course."""

    course_id: str
    course_code: str
    course_title: str
    participant_id: str
    holder_name: str
    masked_personal_number: str
    members: tuple[DuplicateMember, ...]  # the one to keep first

    @property
    def kept(self) -> DuplicateMember:
        return self.members[0]


def _keep_order(c) -> tuple:
    return (c.issued_on, c.number)


def duplicate_certificates(db: Database, course_id: str | None = None) -> list[DuplicateGroup]:
    """Participants with two (or more) valid certificates of the same course, which happens when
    two laptops issued the course offline. Both stay valid until the coordinator revokes one
    (`revoke_duplicate`). By course code, then name."""
    device = device_short(db)
    with db.read() as s:
        pairs = (
            select(Certificate.course_id, Certificate.participant_id, Certificate.kind)
            .where(*_live_filter())
            .group_by(Certificate.course_id, Certificate.participant_id, Certificate.kind)
            .having(func.count() > 1)
        )
        if course_id:
            pairs = pairs.where(Certificate.course_id == course_id)
        pairs = pairs.subquery()
        rows = s.execute(
            select(Certificate, Course.code, Course.title, Participant.first_name, Participant.last_name,
                   Participant.personal_number)
            .join(pairs, and_(pairs.c.course_id == Certificate.course_id,
                              pairs.c.participant_id == Certificate.participant_id, pairs.c.kind == Certificate.kind))
            .join(Course, Course.id == Certificate.course_id)
            .join(Participant, Participant.id == Certificate.participant_id)
            .where(*_live_filter())
        ).all()
        own = _own_devices(s, device) if rows else set()
    groups: dict[tuple[str, str], list] = {}
    for row in rows:
        groups.setdefault((row[0].course_id, row[0].participant_id, row[0].kind), []).append(row)
    out = []
    for (cid, pid, _kind), members in groups.items():
        members.sort(key=lambda r: _keep_order(r[0]))
        first = members[0]
        try:
            masked = mask_personal_number(first[5])
        except Exception:  # a stored number that cannot be masked shows nothing of it
            masked = ""
        out.append(DuplicateGroup(
            course_id=cid, course_code=first[1], course_title=first[2], participant_id=pid,
            holder_name=f"{first[3]} {first[4]}".strip(), masked_personal_number=masked,
            members=tuple(
                DuplicateMember(r[0].id, r[0].number, r[0].issued_on, r[0].language, number_device(r[0].number),
                                number_device(r[0].number) in own, i == 0)
                for i, r in enumerate(members)
            ),
        ))
    return sorted(out, key=lambda g: (g.course_code, g.holder_name.casefold(), g.participant_id))


@dataclass(frozen=True)
class RevokedDuplicate:
    id: str
    number: str
    kept_number: str
    reason: str


def certificate_id_by_number(db: Database, number: str) -> str:
    """The id of the certificate with this number; NotFound (naming it) otherwise."""
    value = (number or "").strip().upper()
    with db.read() as s:
        found = s.execute(
            select(Certificate.id).where(Certificate.number == value, Certificate.deleted_at.is_(None))
        ).scalar_one_or_none()
    if found is None:
        raise NotFound(_("No certificate {number}").format(number=value))
    return found


def revoke_duplicate(db: Database, certificate_id: str, today: date | None = None) -> RevokedDuplicate:
    """Revoke a certificate as a duplicate of another valid certificate of the same participant and
    course (the one kept: the earliest issued of the others). The reason "Duplicate of <number>"
    is written in the language of the user interface, like "Superseded by" of a re-issue: it is
    the coordinator's note, and verify shows it as written. Decided in one transaction: a
    certificate that is the participant's only valid one is never revoked this way."""
    with db.write() as s:
        cert = _live_certificate(s, certificate_id)
        others = s.execute(
            select(Certificate).where(
                Certificate.course_id == cert.course_id,
                Certificate.participant_id == cert.participant_id,
                Certificate.kind == cert.kind,
                Certificate.id != cert.id,
                *_live_filter(),
            )
        ).scalars().all()
        if not others:
            raise UserError(
                _("Certificate {number} is the participant's only valid certificate of the course; it is no duplicate.").format(
                    number=cert.number
                )
            )
        kept = min(others, key=_keep_order)
        reason = _("Duplicate of {number}").format(number=kept.number)
        cert.revoked_on = today or date.today()
        cert.revoke_reason = reason
        return RevokedDuplicate(cert.id, cert.number, kept.number, reason)


# --- verification ------------------------------------------------------------------------------

def verify(db: Database, number_or_code: str) -> Verification:
    """Look a certificate up by its number, its verification code, or the QR text
    `KURSDESK:<number>:<code>` (then both must match)."""
    value = (number_or_code or "").strip()
    number, code = "", ""
    if value.upper().startswith("KURSDESK:"):
        parts = value.split(":")
        if len(parts) != 3:
            return Verification("unknown")
        number, code = parts[1].strip().upper(), normalize_code(parts[2])
        if not code:
            return Verification("unknown")
    elif _NUMBER_RE.match(value.upper()):
        number = value.upper()
    else:
        code = normalize_code(value)
        if not code:
            return Verification("unknown")
    with db.read() as s:
        query = select(Certificate, Participant, Course).join(
            Participant, Participant.id == Certificate.participant_id
        ).join(Course, Course.id == Certificate.course_id).where(Certificate.deleted_at.is_(None))
        if number:
            query = query.where(Certificate.number == number)
        if code:
            query = query.where(Certificate.verification_code == code)
        row = s.execute(query).first()
        if row is None:
            return Verification("unknown")
        cert, participant, course = row
        return Verification(
            status=_status(cert),
            number=cert.number,
            holder_name=f"{participant.first_name} {participant.last_name}".strip(),
            course_code=course.code,
            course_title=course.title,
            issued_on=cert.issued_on,
            revoked_on=cert.revoked_on,
            reason=cert.revoke_reason or "",
        )


# --- the frozen documents ----------------------------------------------------------------------

def certificate_pdf(db: Database, certificate_id: str) -> bytes:
    """The PDF exactly as issued (checked against its stored SHA-256)."""
    with db.read() as s:
        cert = s.get(Certificate, certificate_id, options=[undefer(Certificate.pdf)])
        if cert is None or cert.deleted_at is not None:
            raise NotFound(_("The certificate does not exist."))
        pdf, digest, number = cert.pdf, cert.pdf_sha256, cert.number
    if not pdf:
        raise UserError(_("The PDF of certificate {number} is not stored on this computer.").format(number=number))
    if hashlib.sha256(pdf).hexdigest() != digest:
        raise UserError(_("The stored PDF of certificate {number} is damaged.").format(number=number))
    return pdf


def certificate_data(db: Database, certificate_id: str) -> CertificateData:
    """The exact data the certificate was drawn from at issue."""
    with db.read() as s:
        cert = s.get(Certificate, certificate_id, options=[undefer(Certificate.document)])
        if cert is None or cert.deleted_at is not None:
            raise NotFound(_("The certificate does not exist."))
        raw, number = cert.document, cert.number
    if not raw:
        raise UserError(_("The PDF of certificate {number} is not stored on this computer.").format(number=number))
    return CertificateData.from_json(raw)


_UNSAFE = re.compile(r'[<>:"/\\|?*\x00-\x1f\x7f]')


def safe_file_name(value: str, limit: int = 120) -> str:
    """A file name that Windows, macOS and Linux all accept (letters like Å, Ł kept)."""
    value = unicodedata.normalize("NFC", value)
    value = _UNSAFE.sub("_", value).strip().rstrip(". ")
    if value.split(".")[0].upper() in {"CON", "PRN", "AUX", "NUL", *(f"COM{i}" for i in range(1, 10)), *(f"LPT{i}" for i in range(1, 10))}:
        value = "_" + value
    return value[:limit] or "_"


def _atomic_write(path: Path, data: bytes) -> None:
    """Written to a temporary name, then renamed: a reader never sees half a file. No fsync per
    file (it cost ~10 ms a file here): the database keeps the frozen bytes, so a file lost in a
    power cut is written again from there."""
    fd, tmp = tempfile.mkstemp(prefix=".kursdesk-", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _frozen(db: Database, certificate_ids: list[str], *, pdf: bool, document: bool) -> list[Certificate]:
    options = ([undefer(Certificate.pdf)] if pdf else []) + ([undefer(Certificate.document)] if document else [])
    with db.read() as s:
        found = {
            c.id: c
            for chunk in _chunks(certificate_ids, 500)
            for c in s.execute(
                select(Certificate).options(*options).where(Certificate.id.in_(chunk), Certificate.deleted_at.is_(None))
            ).scalars()
        }
        codes = dict(s.execute(select(Course.id, Course.code)).all()) if found else {}
    missing = [cid for cid in certificate_ids if cid not in found]
    if missing:
        raise NotFound(_("The certificate does not exist."))
    for c in found.values():
        c.course_code = codes.get(c.course_id, "")  # plain attribute for the file name
    return [found[cid] for cid in dict.fromkeys(certificate_ids)]


def _chunks(items: list[str], size: int):
    for i in range(0, len(items), size):
        yield items[i : i + size]


def write_certificate_files(
    db: Database, certificate_ids: Iterable[str], out_dir: Path, progress: Progress | None = None
) -> list[Path]:
    """One PDF per certificate, the frozen bytes, named `<course code> - <name as printed>.pdf`
    (a number is added when two would get the same name), each written atomically."""
    ids = list(certificate_ids)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    certs = _frozen(db, ids, pdf=True, document=True)
    taken: set[str] = set()
    paths: list[Path] = []
    for done, cert in enumerate(certs, start=1):
        if not cert.pdf:
            raise UserError(
                _("The PDF of certificate {number} is not stored on this computer.").format(number=cert.number)
            )
        if hashlib.sha256(cert.pdf).hexdigest() != cert.pdf_sha256:
            raise UserError(_("The stored PDF of certificate {number} is damaged.").format(number=cert.number))
        name = CertificateData.from_json(cert.document).full_name if cert.document else cert.number
        stem = safe_file_name(f"{cert.course_code} - {name}")
        candidate, n = stem, 1
        while candidate.casefold() in taken:
            n += 1
            candidate = f"{stem} ({n})"
        taken.add(candidate.casefold())
        path = out_dir / f"{candidate}.pdf"
        _atomic_write(path, cert.pdf)
        paths.append(path)
        if _stop(progress, done, len(certs)):
            break
    return paths


def write_combined_pdf(db: Database, certificate_ids: Iterable[str], out_path: Path) -> Path:
    """All certificates as the pages of one file, for printing. The pages are drawn from the
    frozen data of each certificate (the same drawing that made its stored PDF, so the same
    page), in one file with one embedded font subset: far smaller and faster than joining the
    stored PDFs, and no PDF library at run time. A certificate drawn with another layout
    version cannot be redrawn; its stored PDF must be printed on its own."""
    ids = list(certificate_ids)
    certs = _frozen(db, ids, pdf=False, document=True)
    items = []
    old = []
    for cert in certs:
        if not cert.document:
            old.append(cert.number)
            continue
        data = CertificateData.from_json(cert.document)
        if data.layout != LAYOUT:
            old.append(cert.number)
            continue
        items.append(data)
    if old:
        raise UserError(
            _("Certificates {numbers} cannot go into a combined file; save them as separate files.").format(
                numbers=", ".join(old)
            )
        )
    out_path = Path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".kursdesk-", suffix=".tmp", dir=out_path.parent)
    os.close(fd)
    try:
        title = translate_in(items[0].lang if items else "sv", "Certificates") if items else "Certificates"
        write_certificates_pdf(items, Path(tmp), title)
        os.replace(tmp, out_path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return out_path


# --- the register ------------------------------------------------------------------------------

def list_certificates(db: Database, search: str = "", course_id: str | None = None) -> list[CertificateRow]:
    """Every certificate (newest first), filtered by number, code, holder, or course code/title."""
    with db.read() as s:
        query = (
            select(
                Certificate.id,
                Certificate.number,
                Certificate.verification_code,
                Certificate.course_id,
                Course.code,
                Course.title,
                Certificate.participant_id,
                Participant.first_name,
                Participant.last_name,
                Certificate.issued_on,
                Certificate.language,
                Certificate.revoked_on,
                Certificate.revoke_reason,
                Certificate.supersedes_id,
                Certificate.kind,
            )
            .join(Course, Course.id == Certificate.course_id)
            .join(Participant, Participant.id == Certificate.participant_id)
            .where(Certificate.deleted_at.is_(None))
            .order_by(Certificate.issued_on.desc(), Certificate.number.desc())
        )
        if course_id:
            query = query.where(Certificate.course_id == course_id)
        rows = s.execute(query).all()
        numbers = dict(s.execute(select(Certificate.id, Certificate.number)).all()) if rows else {}
    needle = search.strip().casefold()
    out = []
    for r in rows:
        holder = f"{r[7]} {r[8]}".strip()
        if needle and not any(needle in str(v).casefold() for v in (r[1], r[2], r[4], r[5], holder)):
            continue
        out.append(
            CertificateRow(
                id=r[0],
                number=r[1],
                verification_code=r[2],
                course_id=r[3],
                course_code=r[4],
                course_title=r[5],
                participant_id=r[6],
                holder_name=holder,
                issued_on=r[9],
                language=r[10],
                status="revoked" if r[11] else "valid",
                revoked_on=r[11],
                revoke_reason=r[12] or "",
                supersedes_number=numbers.get(r[13], "") if r[13] else "",
                kind=r[14],
            )
        )
    return out


@dataclass(frozen=True)
class CourseChoice:
    id: str
    code: str
    title: str

    @property
    def label(self) -> str:
        return f"{self.code} – {self.title}"


def course_choices(db: Database) -> list[CourseChoice]:
    """Courses for the certificates page's course picker, by code."""
    with db.read() as s:
        rows = s.execute(
            select(Course.id, Course.code, Course.title).where(Course.deleted_at.is_(None)).order_by(Course.code)
        ).all()
    return [CourseChoice(*r) for r in rows]


# --- English certificates ------------------------------------------------------------------------

def missing_english_texts(db: Database, course_id: str) -> tuple[str, ...]:
    """The texts an English certificate of this course would print in Swedish, because their
    English version is not set (the course's, the signatory's title and the programme's name; the
    organisation's name is a name and may stay as it is); empty when no participant
    gets an English certificate, or nothing is missing. For the Certificates page, before issuing."""
    with db.read() as s:
        course = _course(s, course_id)
        english = course.certificate_language == "en" or s.execute(
            select(Enrollment.id).where(Enrollment.course_id == course_id, Enrollment.deleted_at.is_(None),
                                        Enrollment.certificate_language == "en").limit(1)
        ).first() is not None
        texts = [(course.title, course.title_en, _("the course title")),
                 (course.description, course.description_en, _("the course description")),
                 (course.learning_outcomes, course.learning_outcomes_en, _("the learning outcomes"))]
    if not english:
        return ()
    settings, extra = get_settings(db), get_certificate_settings(db)
    texts += [(settings.signatory_title, extra.signatory_title_en, _("the signatory's title")),
              (settings.programme_name, extra.programme_name_en, _("the programme's name"))]
    return tuple(label for swedish, translated, label in texts if swedish.strip() and not translated.strip())
