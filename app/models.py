"""The records of the programme (DESIGN sections 2 and 7), as SQLAlchemy 2.0 typed models.

Every synced record has a UUID string id, created/updated stamps (UTC) and a tombstone
(`deleted_at`): deletions are soft, so they can be undone and synced. Queries that list
records skip tombstoned rows.
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, time

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    Numeric,
    String,
    Text,
    Time,
    UniqueConstraint,
    literal_column,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from app.concurrency import current_writer

# Named constraints so that Alembic batch migrations can find them again.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def new_id() -> str:
    return str(uuid.uuid4())


def utcnow() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


LIVE = "deleted_at IS NULL"


def _live_where(where: str, pg_where: str) -> dict:
    """The partial-index conditions over rows that are not tombstoned, narrowed by `where`
    (`pg_where`: the same for PostgreSQL, when its SQL differs)."""
    lite = f"{LIVE} AND {where}" if where else LIVE
    pg = f"{LIVE} AND {pg_where or where}" if (pg_where or where) else LIVE
    return {"sqlite_where": text(lite), "postgresql_where": text(pg)}


def unique_live(name: str, *columns: str, where: str = "", pg_where: str = "") -> Index:
    """One live record per value: a partial unique index over rows that are not tombstoned, so a
    deleted record and its live successor (or a merged duplicate) may share the value. `where`
    narrows it further (`pg_where`: the same for PostgreSQL, when its SQL differs)."""
    return Index(name, *columns, unique=True, **_live_where(where, pg_where))


def deleted_pairs(name: str, *columns: str) -> Index:
    """The pair values of tombstoned rows (few), for sync's identity lookups (app/sync/merge.py)."""
    gone = "deleted_at IS NOT NULL"
    return Index(name, *columns, sqlite_where=text(gone), postgresql_where=text(gone))


def live_index(name: str, *columns: str, where: str = "", pg_where: str = "") -> Index:
    """An index over the rows that are not tombstoned (`where`/`pg_where` narrow it, as in
    unique_live): the course list's counts read it without visiting the rows (migration 0010)."""
    return Index(name, *columns, **_live_where(where, pg_where))


# an identity (app/sync/identity.py): one live company per organisation number, one live participant
# per personnummer (the protected form with letters, and an empty value, identify no one)
COMPANY_IDENTITY = unique_live("uq_companies_org_number_live", "org_number", where="org_number != ''")
PARTICIPANT_IDENTITY = unique_live(
    "uq_participants_personal_number_live", "personal_number",
    where="personal_number != '' AND personal_number NOT GLOB '*[A-Za-z]*'",
    pg_where="personal_number != '' AND personal_number !~ '[A-Za-z]'")


class Record(Base):
    """Columns every synced record carries."""

    __abstract__ = True

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)
    deleted_at: Mapped[datetime | None] = mapped_column(DateTime, default=None)
    # moved on by every UPDATE, whatever writes it (a form, an import, a sync): an edit opened at
    # another version is stale (app/concurrency.py); who wrote the record last. Not synced.
    version: Mapped[int] = mapped_column(Integer, default=1, server_default=text("1"),
                                         onupdate=literal_column("version") + 1)
    changed_by: Mapped[str] = mapped_column(String(100), default=current_writer, onupdate=current_writer,
                                            server_default="")


# ESF's seven types of organisation, in the order of its form (the Swedish labels: app/services/project_data.py)
ORGANISATION_TYPES = (
    "private", "municipality", "county_council", "state", "other_public", "employment_service", "social_insurance",
)
ENROLLMENT_STATUSES = ("enrolled", "waitlisted", "completed", "withdrawn")
ATTENDANCE_STATUSES = ("present", "late", "excused", "absent")
GENDERS = ("", "female", "male")
CERTIFICATE_LANGUAGES = ("sv", "en")


class Provider(Record):
    __tablename__ = "providers"

    name: Mapped[str] = mapped_column(String(200))
    org_number: Mapped[str] = mapped_column(String(11), default="")


class Company(Record):
    __tablename__ = "companies"
    __table_args__ = (COMPANY_IDENTITY,)

    name: Mapped[str] = mapped_column(String(200), index=True)
    org_number: Mapped[str] = mapped_column(String(11), default="", index=True)
    municipality: Mapped[str] = mapped_column(String(100), default="")
    industry: Mapped[str] = mapped_column(String(200), default="")
    contact_name: Mapped[str] = mapped_column(String(200), default="")
    contact_email: Mapped[str] = mapped_column(String(200), default="")
    contact_phone: Mapped[str] = mapped_column(String(50), default="")
    # ESF's "Typ av organisation" (ORGANISATION_TYPES; '' = not set): the funder's hours are reported by it
    organisation_type: Mapped[str] = mapped_column(String(20), default="")

    participants: Mapped[list[Participant]] = relationship(back_populates="company")


class NeedsAnalysis(Record):
    __tablename__ = "needs"

    company_id: Mapped[str] = mapped_column(ForeignKey("companies.id"), index=True)
    date: Mapped[date] = mapped_column(Date)
    description: Mapped[str] = mapped_column(Text, default="")
    target_groups: Mapped[str] = mapped_column(Text, default="")


class NeedCourse(Record):
    """A course that answers a company's needs analysis."""

    __tablename__ = "need_courses"
    __table_args__ = (unique_live("uq_need_courses_live", "need_id", "course_id"), deleted_pairs("ix_need_courses_deleted", "need_id", "course_id"),)

    need_id: Mapped[str] = mapped_column(ForeignKey("needs.id"), index=True)
    course_id: Mapped[str] = mapped_column(ForeignKey("courses.id"), index=True)


class Participant(Record):
    __tablename__ = "participants"
    # the deleted ones (few): the course list's anti-join reads them only (migration 0010)
    __table_args__ = (PARTICIPANT_IDENTITY, deleted_pairs("ix_participants_deleted", "id"))

    first_name: Mapped[str] = mapped_column(String(100))
    last_name: Mapped[str] = mapped_column(String(100), index=True)
    # 12 digits YYYYMMDDNNNC (personnummer or samordningsnummer), or ESF's protected or temporary
    # form YYYYMMDDTF29 / YYYYMMDDTF19, which identifies no one
    personal_number: Mapped[str] = mapped_column(String(12), index=True)
    gender: Mapped[str] = mapped_column(String(6), default="")
    email: Mapped[str] = mapped_column(String(200), default="")
    phone: Mapped[str] = mapped_column(String(50), default="")
    company_id: Mapped[str | None] = mapped_column(ForeignKey("companies.id"), index=True, default=None)
    # skyddade personuppgifter: left out of lists printed for others, name only on a sign-in sheet
    protected: Mapped[bool] = mapped_column(Boolean, default=False)
    # the project data SCB asks for (app/services/project_data.py has the codes)
    project_start: Mapped[date | None] = mapped_column(Date, default=None)
    project_end: Mapped[date | None] = mapped_column(Date, default=None)
    exit_reason: Mapped[int | None] = mapped_column(Integer, default=None)  # 1-5
    formal_qualification: Mapped[bool | None] = mapped_column(Boolean, default=None)
    exit_status: Mapped[int | None] = mapped_column(Integer, default=None)  # 1-7
    employment_terms: Mapped[int | None] = mapped_column(Integer, default=None)  # 1-3
    employment_extent: Mapped[int | None] = mapped_column(Integer, default=None)  # 1-3
    # when the participant was given the data protection notice (GDPR Art. 14; app/gdpr/notice.py)
    informed_on: Mapped[date | None] = mapped_column(Date, default=None)

    company: Mapped[Company | None] = relationship(back_populates="participants")


class Course(Record):
    __tablename__ = "courses"
    __table_args__ = (
        CheckConstraint("min_attendance_percent BETWEEN 0 AND 100", name="min_attendance"),
    )

    code: Mapped[str] = mapped_column(String(40), unique=True)
    title: Mapped[str] = mapped_column(String(300))
    description: Mapped[str] = mapped_column(Text, default="")
    learning_outcomes: Mapped[str] = mapped_column(Text, default="")
    # English texts for certificates in English (empty: not translated yet)
    title_en: Mapped[str] = mapped_column(String(300), default="")
    description_en: Mapped[str] = mapped_column(Text, default="")
    learning_outcomes_en: Mapped[str] = mapped_column(Text, default="")
    provider_id: Mapped[str | None] = mapped_column(ForeignKey("providers.id"), default=None)
    location: Mapped[str] = mapped_column(String(200), default="")
    teacher: Mapped[str] = mapped_column(String(200), default="")
    min_attendance_percent: Mapped[int] = mapped_column(Integer, default=80)
    certificate_language: Mapped[str] = mapped_column(String(2), default="sv")
    capacity: Mapped[int | None] = mapped_column(Integer, default=None)

    sessions: Mapped[list[CourseSession]] = relationship(back_populates="course", order_by="CourseSession.date")


class CourseSession(Record):
    """A kurstillfälle. (Named so to keep it apart from SQLAlchemy's Session.)"""

    __tablename__ = "sessions"
    __table_args__ = (
        CheckConstraint("end_time > start_time", name="ends_after_start"),
        live_index("ix_sessions_course_live", "course_id", "date", where="cancelled IS 0", pg_where="cancelled IS false"),
    )

    course_id: Mapped[str] = mapped_column(ForeignKey("courses.id"), index=True)
    date: Mapped[date] = mapped_column(Date, index=True)
    start_time: Mapped[time] = mapped_column(Time)
    end_time: Mapped[time] = mapped_column(Time)
    location: Mapped[str] = mapped_column(String(200), default="")
    teacher: Mapped[str] = mapped_column(String(200), default="")
    cancelled: Mapped[bool] = mapped_column(Boolean, default=False)

    course: Mapped[Course] = relationship(back_populates="sessions")

    @property
    def minutes(self) -> int:
        return (self.end_time.hour * 60 + self.end_time.minute) - (self.start_time.hour * 60 + self.start_time.minute)


class Enrollment(Record):
    __tablename__ = "enrollments"
    __table_args__ = (
        unique_live("uq_enrollments_live", "course_id", "participant_id"), deleted_pairs("ix_enrollments_deleted", "course_id", "participant_id"),
        live_index("ix_enrollments_course_live", "course_id", "status", "participant_id"),
        CheckConstraint("status IN ('enrolled', 'waitlisted', 'completed', 'withdrawn')", name="status"),
    )

    course_id: Mapped[str] = mapped_column(ForeignKey("courses.id"), index=True)
    participant_id: Mapped[str] = mapped_column(ForeignKey("participants.id"), index=True)
    status: Mapped[str] = mapped_column(String(12), default="enrolled")
    # overrides the course's certificate language for this participant ('' = the course's)
    certificate_language: Mapped[str] = mapped_column(String(2), default="")


class Attendance(Record):
    __tablename__ = "attendance"
    __table_args__ = (
        unique_live("uq_attendance_live", "session_id", "participant_id"), deleted_pairs("ix_attendance_deleted", "session_id", "participant_id"),
        CheckConstraint("status IN ('present', 'late', 'excused', 'absent')", name="status"),
        CheckConstraint("minutes IS NULL OR minutes BETWEEN 0 AND 1440", name="minutes"),
        # covers the reading of a month's hours (app/services/month_close.py month_totals) without
        # visiting the marks' rows
        Index("ix_attendance_hours", "session_id", "status", "minutes", "participant_id",
              sqlite_where=text(LIVE), postgresql_where=text(LIVE)),
    )

    session_id: Mapped[str] = mapped_column(ForeignKey("sessions.id"), index=True)
    participant_id: Mapped[str] = mapped_column(ForeignKey("participants.id"), index=True)
    status: Mapped[str] = mapped_column(String(8))
    # minutes attended; None with 'present' means the whole session
    minutes: Mapped[int | None] = mapped_column(Integer, default=None)
    note: Mapped[str] = mapped_column(Text, default="")


class Certificate(Record):
    __tablename__ = "certificates"
    __table_args__ = (live_index("ix_certificates_course_live", "course_id", where="revoked_on IS NULL"),)

    number: Mapped[str] = mapped_column(String(40), unique=True)
    verification_code: Mapped[str] = mapped_column(String(40), unique=True)
    course_id: Mapped[str] = mapped_column(ForeignKey("courses.id"), index=True)
    participant_id: Mapped[str] = mapped_column(ForeignKey("participants.id"), index=True)
    issued_on: Mapped[date] = mapped_column(Date)
    language: Mapped[str] = mapped_column(String(2), default="sv")
    # 'course' (kursintyg, the course's minimum reached) or 'participation' (deltagarintyg)
    kind: Mapped[str] = mapped_column(String(20), default="course")
    revoked_on: Mapped[date | None] = mapped_column(Date, default=None)
    revoke_reason: Mapped[str] = mapped_column(Text, default="")
    # the certificate this one corrects; the old one stays on record
    supersedes_id: Mapped[str | None] = mapped_column(ForeignKey("certificates.id"), default=None)
    # the frozen document as issued, and its SHA-256
    pdf: Mapped[bytes | None] = mapped_column(LargeBinary, default=None, deferred=True)
    pdf_sha256: Mapped[str] = mapped_column(String(64), default="")
    # the exact data the PDF was drawn from (JSON, app.documents.certificate.CertificateData), so
    # a combined print file can draw the same pages without re-reading names, logo or course texts
    document: Mapped[str] = mapped_column(Text, default="", deferred=True)


class OriginalReceived(Record):
    """A signed monthly time report (original) received for a participant and month."""

    __tablename__ = "originals_received"
    __table_args__ = (unique_live("uq_originals_received_live", "participant_id", "month"), deleted_pairs("ix_originals_received_deleted", "participant_id", "month"),)

    participant_id: Mapped[str] = mapped_column(ForeignKey("participants.id"), index=True)
    month: Mapped[str] = mapped_column(String(7))  # YYYY-MM
    received_on: Mapped[date] = mapped_column(Date)
    # the month's hours for the person on the report that was signed (None: received before 0005)
    signed_hours: Mapped[float | None] = mapped_column(Numeric(10, 2), default=None)


class MonthClose(Record):
    """One version of a closed month (app/services/month_close.py): what was reported, as JSON.

    Written once and never changed. Its id is random and it has no identity, so two laptops that
    close the same month offline both keep their version after sync (ordered by closed_at, then
    id, the same on every laptop)."""

    __tablename__ = "month_closes"

    month: Mapped[str] = mapped_column(String(7), index=True)  # YYYY-MM
    closed_at: Mapped[datetime] = mapped_column(DateTime)  # UTC
    closed_by: Mapped[str] = mapped_column(String(200), default="")  # the laptop's user
    device_id: Mapped[str] = mapped_column(String(36), default="")
    rounding: Mapped[str] = mapped_column(String(10), default="exact")
    hours: Mapped[str] = mapped_column(Text, default="{}")  # {participant_id: "12.50"}
    figures: Mapped[str] = mapped_column(Text, default="{}")  # the summary's figures
    files: Mapped[str] = mapped_column(Text, default="{}")  # {file name: SHA-256}


class MonthStamp(Base):
    """How often what feeds a month's hours and figures changed on this laptop (app/services/
    month_stamps.py bumps it in the writing transaction); month "*" counts changes that may touch
    every month. Local: not synced, not in the bundle."""

    __tablename__ = "month_stamps"

    month: Mapped[str] = mapped_column(String(7), primary_key=True)  # YYYY-MM or "*"
    n: Mapped[int] = mapped_column(Integer, default=0)


class MonthCheck(Base):
    """The month status's last computation of a month on this laptop (app/services/month_close.py),
    valid while the month's stamps, its latest close and CHECK_VERSION are what it names. Local."""

    __tablename__ = "month_checks"

    month: Mapped[str] = mapped_column(String(7), primary_key=True)
    stamp: Mapped[int] = mapped_column(Integer, default=0)  # month_stamps.n of the month
    every: Mapped[int] = mapped_column(Integer, default=0)  # month_stamps.n of "*"
    version: Mapped[int] = mapped_column(Integer, default=0)
    close_id: Mapped[str] = mapped_column(String(36), default="")  # the latest close compared with
    hours: Mapped[str] = mapped_column(Text, default="{}")  # today's {participant_id: "12.50"}
    attended: Mapped[str] = mapped_column(Text, default="[]")  # today's participants with attended minutes
    differences: Mapped[str] = mapped_column(Text, default="[]")  # [[participant_id, before, after]]
    figure_changes: Mapped[str] = mapped_column(Text, default="[]")  # [[figure, before, after]]


class ProjectSetting(Record):
    """A setting of the ESF project that decides the funder's figures (case number, unit cost, project
    dates): synced, so that every laptop reports with the same values. Its id is derived from its key
    (project_setting_id), so laptops that set it offline edit one record (the newest value wins)."""

    __tablename__ = "project_settings"

    key: Mapped[str] = mapped_column(String(60))
    value: Mapped[str] = mapped_column(Text, default="")


class Erasure(Record):
    """A person erased (GDPR; app/gdpr/erasure.py): synced, so that every laptop erases them too.
    Holds no personal data: the erased participant's random id, and the hours they leave behind as
    anonymous totals (JSON {"YYYY-MM": {company id or "": minutes}})."""

    __tablename__ = "erasures"

    participant_id: Mapped[str] = mapped_column(String(36), index=True)
    erased_on: Mapped[date] = mapped_column(Date)
    reason: Mapped[str] = mapped_column(String(20))  # request | retention | never-participated
    forced: Mapped[bool] = mapped_column(Boolean, default=False)  # erased while the funder's retention applied
    device: Mapped[str] = mapped_column(String(36), default="")
    totals: Mapped[str] = mapped_column(Text, default="")


class Setting(Base):
    """Settings of this laptop's organisation (name, signatory, logo, ...): key and JSON value."""

    __tablename__ = "settings"

    key: Mapped[str] = mapped_column(String(100), primary_key=True)
    value: Mapped[str] = mapped_column(Text, default="")


# Record types of the JSON bundle and of sync, parents before children.
SYNCED_MODELS: tuple[type[Record], ...] = (
    Provider,
    Company,
    Participant,
    Course,
    NeedsAnalysis,
    NeedCourse,
    CourseSession,
    Enrollment,
    Attendance,
    Certificate,
    OriginalReceived,
    ProjectSetting,
    MonthClose,
    Erasure,
)


# Marks, enrollments and other pair records get ids derived from what they join, so that two laptops that record
# the same participant in the same session offline create the same record, not a duplicate.
_ID_NAMESPACE = uuid.UUID("6f1c1e52-4c1a-4e0b-9a8e-6b2d0f6c9a11")


def attendance_id(session_id: str, participant_id: str) -> str:
    return str(uuid.uuid5(_ID_NAMESPACE, f"attendance:{session_id}:{participant_id}"))


def enrollment_id(course_id: str, participant_id: str) -> str:
    return str(uuid.uuid5(_ID_NAMESPACE, f"enrollment:{course_id}:{participant_id}"))


def need_course_id(need_id: str, course_id: str) -> str:
    return str(uuid.uuid5(_ID_NAMESPACE, f"need_course:{need_id}:{course_id}"))


def project_setting_id(key: str) -> str:
    return str(uuid.uuid5(_ID_NAMESPACE, f"project_setting:{key}"))


def original_received_id(participant_id: str, month: str) -> str:
    return str(uuid.uuid5(_ID_NAMESPACE, f"original:{participant_id}:{month}"))


# --- sync bookkeeping (local to each laptop, never synced itself; see app/sync/) --------------


class SyncChange(Base):
    """Outbox: one local change of a synced record, written in the same transaction as the change."""

    __tablename__ = "sync_changes"

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    table_name: Mapped[str] = mapped_column(String(40))
    record_id: Mapped[str] = mapped_column(String(36))
    op: Mapped[str] = mapped_column(String(8))  # upsert | delete
    fields: Mapped[str] = mapped_column(Text)  # JSON {field: value}
    base: Mapped[str] = mapped_column(Text, default="")  # JSON {field: hlc seen before} or ""
    hlc: Mapped[str] = mapped_column(String(64))
    device_id: Mapped[str] = mapped_column(String(36))
    # who made it (app/concurrency.writer_of): the partner that applies it records them
    changed_by: Mapped[str] = mapped_column(String(100), default="", server_default="")
    # the SyncOutBatch (local id) this change was reserved for; None = not yet in a batch
    batch_id: Mapped[int | None] = mapped_column(Integer, default=None, index=True)


class SyncOutBatch(Base):
    """A batch of this laptop, fixed here before its file is written: the number, the chain and the
    hash of its change lines. A file found under (device, seq) is either exactly this (adopted) or
    foreign (this laptop then forks, see app/sync/engine.py). A heal batch (`source_id`) carries
    again the change lines of an earlier batch that a partner found damaged or missing."""

    __tablename__ = "sync_out_batches"
    __table_args__ = (UniqueConstraint("device_id", "seq"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    device_id: Mapped[str] = mapped_column(String(36))
    seq: Mapped[int] = mapped_column(Integer)
    header: Mapped[str] = mapped_column(Text)  # JSON, exactly as written to the file
    body: Mapped[str] = mapped_column(String(64))  # sha256 of the change lines
    chain: Mapped[str] = mapped_column(String(64), default="")  # sha256(prev chain + body); "" = unknown (older batches)
    count: Mapped[int] = mapped_column(Integer, default=0)
    source_id: Mapped[int | None] = mapped_column(Integer, default=None)
    reserved_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    written_at: Mapped[datetime | None] = mapped_column(DateTime, default=None)


class SyncFork(Base):
    """A device identity that ended and continues as another: `old_device`'s stream is valid up to
    `upto_seq` (chain `upto_chain`). Local forks (this laptop moved on) and partners' alike."""

    __tablename__ = "sync_forks"

    old_device: Mapped[str] = mapped_column(String(36), primary_key=True)
    new_device: Mapped[str] = mapped_column(String(36), primary_key=True)
    upto_seq: Mapped[int] = mapped_column(Integer, default=0)
    upto_chain: Mapped[str] = mapped_column(String(64), default="")
    reason: Mapped[str] = mapped_column(String(40), default="")  # foreign-file | clone | ...
    local: Mapped[bool] = mapped_column(Boolean, default=False)
    shown: Mapped[bool] = mapped_column(Boolean, default=False)
    at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class SyncParked(Base):
    """A partner's change that could not be applied (yet): shown on the Sync page, retried when
    what it needs arrives. No personal data outside `change` (the encrypted batch's own line)."""

    __tablename__ = "sync_parked"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    device_id: Mapped[str] = mapped_column(String(36))
    batch_seq: Mapped[int] = mapped_column(Integer)
    table_name: Mapped[str] = mapped_column(String(40))
    record_id: Mapped[str] = mapped_column(String(36), index=True)
    change: Mapped[str] = mapped_column(Text)  # the change line (JSON)
    reason: Mapped[str] = mapped_column(String(40))  # missing-reference | invalid | unique | ...
    detail: Mapped[str] = mapped_column(Text, default="")  # field names, ids: no values
    parked_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    retried_at: Mapped[datetime | None] = mapped_column(DateTime, default=None)


class SyncAlias(Base):
    """Two live records with one identity were merged: changes to `loser_id` apply to `survivor_id`."""

    __tablename__ = "sync_aliases"

    table_name: Mapped[str] = mapped_column(String(40), primary_key=True)
    loser_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    survivor_id: Mapped[str] = mapped_column(String(36), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class SyncClock(Base):
    """Per-field clocks of one record: JSON {field: [hlc, base_hlc], '*': default, '~d': tombstone}."""

    __tablename__ = "sync_clocks"

    table_name: Mapped[str] = mapped_column(String(40), primary_key=True)
    record_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    data: Mapped[str] = mapped_column(Text)


class SyncConflict(Base):
    """A concurrent edit of one field: the value kept and the value that lost (both JSON)."""

    __tablename__ = "sync_conflicts"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    table_name: Mapped[str] = mapped_column(String(40))
    record_id: Mapped[str] = mapped_column(String(36), index=True)
    field: Mapped[str] = mapped_column(String(60))
    kept_value: Mapped[str] = mapped_column(Text, default="null")
    other_value: Mapped[str] = mapped_column(Text, default="null")
    kept_hlc: Mapped[str] = mapped_column(String(64), default="")
    other_hlc: Mapped[str] = mapped_column(String(64), default="")
    kind: Mapped[str] = mapped_column(String(20), default="field")  # field | deletion | unique
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    resolved_at: Mapped[datetime | None] = mapped_column(DateTime, default=None)


class SyncPeer(Base):
    """How far this laptop has imported a partner's batches, and the partner's last state."""

    __tablename__ = "sync_peers"

    device_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, default=0)
    hash: Mapped[str] = mapped_column(String(64), default="")
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    status: Mapped[str] = mapped_column(Text, default="")  # last message about this partner (no personal data)
    head_seq: Mapped[int] = mapped_column(Integer, default=0)  # the partner's last batch, from its acknowledgement
    want: Mapped[str] = mapped_column(Text, default="")  # JSON [seq, ...] asked for again (damaged, missing)
    ended_by: Mapped[str] = mapped_column(String(36), default="")  # the identity it continues as (a fork)


class SyncAudit(Base):
    """Append-only log of sync events: UUIDs and sequence numbers only, never personal data."""

    __tablename__ = "sync_audit"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    event: Mapped[str] = mapped_column(String(40))
    device_id: Mapped[str] = mapped_column(String(36), default="")
    seq: Mapped[int | None] = mapped_column(Integer, default=None)
    detail: Mapped[str] = mapped_column(Text, default="")


class SyncRestorePoint(Base):
    """Taken before a sync run applies partners' batches (the last few are kept; see app/sync/restore.py).

    Small imports keep the prior state of every record field they change (SyncRestoreRow); a large
    import (the first sync, thousands of changes) keeps a full copy of the database instead (backup)."""

    __tablename__ = "sync_restore_points"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    backup: Mapped[str] = mapped_column(Text, default="")  # path of the full copy, or "" (row-level)
    own_seq: Mapped[int] = mapped_column(Integer, default=0)  # this laptop's last published batch then
    batches: Mapped[str] = mapped_column(Text, default="")  # JSON [[device, seq], ...] applied in the run
    changes: Mapped[int] = mapped_column(Integer, default=0)
    restored_at: Mapped[datetime | None] = mapped_column(DateTime, default=None)


class SyncRestoreRow(Base):
    """The prior state of the fields one import changed in one record (JSON; before "" = new record)."""

    __tablename__ = "sync_restore_rows"

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    point_id: Mapped[int] = mapped_column(Integer, index=True)
    table_name: Mapped[str] = mapped_column(String(40))
    record_id: Mapped[str] = mapped_column(String(36))
    before: Mapped[str] = mapped_column(Text, default="")
    after: Mapped[str] = mapped_column(Text, default="")


# --- data protection (local to each laptop; see app/gdpr/) ------------------------------------


class ErasedRecord(Base):
    """A record id that belonged to an erased person (random UUIDs, no personal data): a change
    that arrives later for one of them (from a laptop that had not seen the erasure) is dropped."""

    __tablename__ = "gdpr_erased"

    table_name: Mapped[str] = mapped_column(String(40), primary_key=True)
    record_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    erasure_id: Mapped[str] = mapped_column(String(36), default="")


class AuditEntry(Base):
    """The audit log: exports of documents with full personnummer, and erasures. What, when, which
    laptop and user, how many people; never names, personnummer or e-mail."""

    __tablename__ = "gdpr_audit"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    action: Mapped[str] = mapped_column(String(40))
    device: Mapped[str] = mapped_column(String(36), default="")
    user: Mapped[str] = mapped_column(String(100), default="")
    people: Mapped[int] = mapped_column(Integer, default=0)
    detail: Mapped[str] = mapped_column(Text, default="")  # a month, a format, a reason code: no personal data
