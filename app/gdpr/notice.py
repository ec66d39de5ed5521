"""Information to participants (GDPR Art. 14): the notice handed out through the company's
contact person (Swedish and English, editable in Settings), and per participant the date they
were informed. `uninformed_participants()` serves the control report: people with hours in a
month and no informed date."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import select, update

from app.db import Database
from app.errors import NotFound
from app.gdpr.settings import get_gdpr_settings
from app.i18n import _
from app.models import Participant
from app.services.settings import get_settings

# The built-in notices; {controller}, {programme} and {retention} are filled in from Settings.
DEFAULT_NOTICE = {
    "sv": (
        "Behandling av personuppgifter i {programme}\n\n"
        "{controller} är personuppgiftsansvarig för de uppgifter om dig som registreras när du deltar i "
        "projektets utbildningar: namn, personnummer, kön, arbetsgivare, kontaktuppgifter, anmälningar, "
        "närvaro och kursintyg. Uppgifterna kommer från din arbetsgivares deltagarlista eller från "
        "kurssamordnaren.\n\n"
        "Uppgifterna behövs för att planera och genomföra utbildningarna och för att redovisa deltagare och "
        "timmar till Svenska ESF-rådet, som finansierar projektet, och till Statistiska centralbyrån (SCB) för "
        "uppföljning. Din chef och arbetsplatsens kontaktperson får närvarorapporter och kursintyg.\n\n"
        "Uppgifterna sparas {retention} och gallras sedan. Du har rätt att få ett registerutdrag, att få fel "
        "rättade, att begära radering eller begränsning och att klaga hos Integritetsskyddsmyndigheten (IMY). "
        "Kontakta kurssamordnaren."
    ),
    "en": (
        "Processing of personal data in {programme}\n\n"
        "{controller} is the controller of the data about you recorded when you take part in the project's "
        "courses: name, personal identity number, gender, employer, contact details, enrollments, attendance "
        "and certificates. The data comes from your employer's list of participants or from the course "
        "coordinator.\n\n"
        "It is needed to plan and run the courses and to report participants and hours to the Swedish ESF "
        "Council, which funds the project, and to Statistics Sweden (SCB) for follow-up. Your manager and your "
        "workplace's contact person receive time reports and certificates.\n\n"
        "The data is kept {retention} and erased then. You have the right to a copy of your data, to have "
        "errors corrected, to ask for erasure or restriction, and to complain to the Swedish Authority for "
        "Privacy Protection (IMY). Contact the course coordinator."
    ),
}
_RETENTION = {"sv": ("till och med {date}", "till slutet av projektets arkiveringstid enligt beslutet om stöd"),
              "en": ("until {date}", "until the end of the project's retention period in the grant decision")}


def notice_template(db: Database, lang: str) -> str:
    """The notice as edited in Settings, else the built-in one (placeholders not filled in)."""
    s = get_gdpr_settings(db)
    own = s.notice_sv if lang == "sv" else s.notice_en
    return own or DEFAULT_NOTICE["sv" if lang == "sv" else "en"]


def notice_text(db: Database, lang: str) -> str:
    """The notice to hand out, with the controller, programme and retention filled in."""
    g = get_gdpr_settings(db)
    org = get_settings(db)
    key = "sv" if lang == "sv" else "en"
    dated, undated = _RETENTION[key]
    retention = dated.format(date=g.retention_until.isoformat()) if g.retention_until else undated
    values = {"controller": g.controller or org.organisation_name, "programme": org.programme_name, "retention": retention}
    template = notice_template(db, lang)
    for name, value in values.items():  # only these three: other braces in an edited text print as typed
        template = template.replace("{" + name + "}", value)
    return template


def informed_on(db: Database, participant_id: str) -> date | None:
    with db.read() as s:
        p = s.get(Participant, participant_id)
        if p is None:
            raise NotFound(_("The participant was not found."))
        return p.informed_on


def set_informed(db: Database, participant_ids: list[str], day: date | None) -> int:
    """Record the date these participants were given the notice (None: not informed); how many."""
    if not participant_ids:
        return 0
    done = 0
    with db.write() as s:
        for i in range(0, len(participant_ids), 500):
            done += s.execute(update(Participant).where(Participant.id.in_(participant_ids[i : i + 500]))
                              .values(informed_on=day)).rowcount
    return done


@dataclass(frozen=True)
class Uninformed:
    participant_id: str
    first_name: str
    last_name: str
    company_name: str
    minutes: int


def uninformed_participants(db: Database, month: str) -> list[Uninformed]:
    """Participants with hours in `month` (YYYY-MM) who have no informed date (for the control report)."""
    from app.services.reports import month_hours

    rows = month_hours(db, month, with_dates=False)
    if not rows:
        return []
    ids = [r.participant_id for r in rows]
    informed: set[str] = set()
    with db.read() as s:
        for i in range(0, len(ids), 500):
            informed.update(s.scalars(select(Participant.id).where(
                Participant.id.in_(ids[i : i + 500]), Participant.informed_on.is_not(None))))
    return [Uninformed(r.participant_id, r.first_name, r.last_name, r.company_name, r.minutes)
            for r in rows if r.participant_id not in informed]
