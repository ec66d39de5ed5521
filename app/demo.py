"""A realistic year of the programme, for trying Kursdesk out and for screenshots and tests.

`fill_demo(db)` fills an EMPTY database (it refuses one that already holds courses or
participants): three providers, about fifteen manufacturing companies in Kalmar county with
valid organisation numbers and contact persons, about 120 participants with made-up but valid
personnummer (and a few samordningsnummer), twelve courses with Swedish descriptions and
learning outcomes, sessions in the past and the future around today, enrollments and
attendance on the sessions that have taken place, needs analyses, and the organisation
settings. The content is seeded, so the same day gives the same data.

The personnummer are synthetic (valid check digits, plausible birth years); they are not the
numbers of real people as far as anyone can know, which is why demo data never leaves a laptop.
"""

from __future__ import annotations

import json
import random
import unicodedata
import uuid
from dataclasses import asdict
from datetime import date, time, timedelta

from sqlalchemy import func, select
from stdnum import luhn

from app import rules
from app.db import Database
from app.errors import UserError
from app.i18n import _
from app.models import (
    Attendance,
    Company,
    Course,
    CourseSession,
    Enrollment,
    NeedCourse,
    NeedsAnalysis,
    Participant,
    Provider,
    Setting,
    attendance_id,
    enrollment_id,
    utcnow,
)

SEED = 2026
DEMO_KEY = "demo_database"  # set when the demo data set filled the database
_NS = uuid.UUID("0b7b8d3c-2f7e-4a55-9d0e-3c1f6a8e4d21")


def _id(kind: str, key: object) -> str:
    """Stable ids, so that the demo of one day is the same on every laptop."""
    return str(uuid.uuid5(_NS, f"{kind}:{key}"))


# --------------------------------------------------------------------------------------
# Identity numbers
# --------------------------------------------------------------------------------------

def org_number(rng: random.Random) -> str:
    """A valid organisationsnummer of a limited company (556xxx-xxxx, Luhn)."""
    body = "556" + "".join(str(rng.randrange(10)) for _ in range(6))
    digits = body + luhn.calc_check_digit(body)
    return f"{digits[:6]}-{digits[6:]}"


def personal_number(rng: random.Random, born: date, female: bool, coordination: bool = False) -> str:
    """A 12-digit personnummer (or samordningsnummer: day + 60) with a valid check digit;
    the third serial digit is even for women and odd for men."""
    day = born.day + (60 if coordination else 0)
    serial = f"{rng.randrange(10)}{rng.randrange(10)}"
    gender_digit = rng.choice("02468" if female else "13579")
    nine = f"{born:%y%m}{day:02d}{serial}{gender_digit}"
    return f"{born.year:04d}{nine[2:]}{luhn.calc_check_digit(nine)}"


# --------------------------------------------------------------------------------------
# The content
# --------------------------------------------------------------------------------------

PROVIDERS = (
    ("Campus Västervik", "212000-0845"),
    ("Nova Oskarshamn", "212000-0803"),
    ("IUC Kalmar län", "556570-9655"),
)

# name, municipality, industry, contact person
COMPANIES = (
    ("Västerviks Mekaniska Verkstad AB", "Västervik", "Verkstadsindustri", "Annika Holm"),
    ("Gamleby Precision AB", "Västervik", "Legotillverkning", "Per Sandberg"),
    ("Oskarshamns Gjuteri AB", "Oskarshamn", "Gjuteri", "Mats Engström"),
    ("Kalmarsunds Komposit AB", "Kalmar", "Plast och komposit", "Sofia Björk"),
    ("Påryds Verkstäder AB", "Kalmar", "Verkstadsindustri", "Jonas Åkesson"),
    ("Nybro Glas & Metall AB", "Nybro", "Glas och metall", "Eva Lindgren"),
    ("Emmaboda Plåtindustri AB", "Emmaboda", "Tunnplåt", "Lars Öberg"),
    ("Hultsfreds Träindustri AB", "Hultsfred", "Trävaror", "Maria Nyström"),
    ("Vimmerby Livsmedel AB", "Vimmerby", "Livsmedel", "Karin Ek"),
    ("Mönsterås Processteknik AB", "Mönsterås", "Massa och papper", "Anders Lund"),
    ("Torsås Lantbruksmaskiner AB", "Torsås", "Maskintillverkning", "Helena Strand"),
    ("Högsby Hydraulik AB", "Högsby", "Hydraulik", "Fredrik Wallin"),
    ("Borgholms Båtvarv AB", "Borgholm", "Båtbyggeri", "Ingrid Sjöberg"),
    ("Mörbylånga Elteknik AB", "Mörbylånga", "Elektronik", "Peter Johansson"),
    ("Oskarshamns Svets & Montage AB", "Oskarshamn", "Svets och montage", "Ulla Karlsson"),
)

# The names of the brief first, then ordinary Swedish and other names common in the county.
NAMED_PARTICIPANTS = (
    ("Łukasz", "Świątek", False),
    ("Nguyễn Thị", "Ánh", True),
    ("Şükrü", "Çelik", False),
    ("Aleksandra", "Nowak", True),
    ("Mohammed", "Al-Hassan", False),
    ("Åsa", "Öberg", True),
    ("Björn", "Ängström", False),
    ("Märta", "Åkerlund", True),
)
FEMALE = (
    "Anna", "Eva", "Karin", "Maria", "Sara", "Emma", "Linnéa", "Åsa", "Ingrid", "Elin", "Malin", "Jenny",
    "Lena", "Sofia", "Hanna", "Fatima", "Amira", "Agnieszka", "Ewa", "Olena", "Ayşe", "Tiina", "Zeynep",
    "Ida", "Johanna", "Kristina", "Märta", "Signe",
)
MALE = (
    "Erik", "Lars", "Anders", "Johan", "Per", "Mikael", "Björn", "Göran", "Stefan", "Jörgen", "Niklas",
    "Oskar", "Mattias", "Henrik", "Ali", "Ahmad", "Piotr", "Tomasz", "Mehmet", "Dragan", "Juha", "Omar",
    "Håkan", "Nils", "Olle", "Rasmus", "Kjell", "Sven",
)
LAST = (
    "Andersson", "Johansson", "Karlsson", "Nilsson", "Eriksson", "Larsson", "Olsson", "Persson",
    "Svensson", "Gustafsson", "Pettersson", "Jönsson", "Lindström", "Sjögren", "Åberg", "Öhman",
    "Bäckström", "Ståhl", "Kowalski", "Wiśniewska", "Yılmaz", "Hadžić", "Korhonen", "Haddad", "Nguyen",
    "Ibrahim", "Lindqvist", "Fors", "Hägg", "Blomqvist", "Mäkinen", "Petrović",
)

# code stem, title, provider index, location, teacher, sessions, start, end, min %, description,
# learning outcomes
COURSES = (
    ("SVETS", "MIG/MAG-svetsning", 0, "Campus Västervik, verkstadshallen", "Roger Nilsson", 8,
     "08:00", "15:00", 80,
     "Praktisk grundkurs i MIG/MAG-svetsning av kolstål i olika lägen. Vi går igenom "
     "utrustning, skyddsgas, svetsparametrar och fogberedning, och varvar teori med "
     "mycket svetsning i övningsbås.",
     "Deltagaren kan ställa in en MIG/MAG-utrustning för given godstjocklek.\n"
     "Deltagaren kan svetsa kälsvets och stumsvets i horisontal- och vertikalläge.\n"
     "Deltagaren känner till vanliga svetsfel och hur de undviks.\n"
     "Deltagaren arbetar säkert med gas, ström och svetsrök."),
    ("LEAN", "Lean produktion", 2, "IUC Kalmar län, Kalmar", "Cecilia Berg", 5,
     "13:00", "16:30", 80,
     "Grunderna i lean: flöde, slöseri, standardiserat arbetssätt och ständiga förbättringar. "
     "Deltagarna kartlägger ett eget flöde på sin arbetsplats och tar fram förbättringsförslag.",
     "Deltagaren kan förklara lean-principerna och de åtta slöserierna.\n"
     "Deltagaren kan göra en enkel värdeflödeskartläggning.\n"
     "Deltagaren kan leda ett kort förbättringsmöte med 5S som stöd."),
    ("TRUCK", "Truckkort A+B", 1, "Nova Oskarshamn", "Kent Forsberg", 4,
     "08:00", "16:00", 100,
     "Utbildning för truckförare enligt TLP10 med teori och praktisk körning på motviktstruck "
     "och skjutstativtruck. Avslutas med teoriprov och körprov.",
     "Deltagaren kan utföra daglig tillsyn av truck.\n"
     "Deltagaren kan köra och hantera last säkert i lager och produktion.\n"
     "Deltagaren känner till regler och ansvar för truckförare."),
    ("HYDR", "Hydraulik grund", 2, "IUC Kalmar län, Oskarshamn", "Göran Lindahl", 6,
     "08:30", "15:30", 80,
     "Hydraulikens grunder för operatörer och underhållspersonal: komponenter, symboler, "
     "schemaläsning och felsökning i enkla system. Övningar i hydraulikriggar.",
     "Deltagaren kan läsa ett enkelt hydraulschema.\n"
     "Deltagaren kan beskriva pumpars, ventilers och cylindrars funktion.\n"
     "Deltagaren kan felsöka systematiskt och arbeta säkert med trycksatta system."),
    ("LEDP", "Ledarskap för produktionsledare", 0, "Campus Västervik", "Helena Ek", 6,
     "09:00", "16:00", 80,
     "För dig som leder team i produktionen. Kommunikation, coachande ledarskap, att hantera "
     "konflikter och att leda förändring, med verkliga fall från deltagarnas arbetsplatser.",
     "Deltagaren kan hålla medarbetarsamtal och ge återkoppling.\n"
     "Deltagaren kan hantera vanliga konfliktsituationer i en arbetsgrupp.\n"
     "Deltagaren kan planera och genomföra en förändring tillsammans med sitt team."),
    ("BAM", "Arbetsmiljö (BAM)", 1, "Nova Oskarshamn", "Lena Åström", 3,
     "08:30", "16:00", 100,
     "Bättre arbetsmiljö: utbildning för chefer och skyddsombud om arbetsmiljölagen, "
     "systematiskt arbetsmiljöarbete, riskbedömning och organisatorisk och social arbetsmiljö.",
     "Deltagaren känner till arbetsmiljölagstiftningen och ansvarsfördelningen.\n"
     "Deltagaren kan göra en riskbedömning och följa upp åtgärder.\n"
     "Deltagaren kan bedriva systematiskt arbetsmiljöarbete på sin arbetsplats."),
    ("EXCEL", "Excel för produktionsplanering", 0, "Campus Västervik, datasal 2", "Jonas Ek", 4,
     "13:00", "16:00", 75,
     "Excel för den som planerar produktion: tabeller, formler, villkorsstyrd formatering, "
     "pivottabeller och enkla beläggningsplaner. Vi arbetar med deltagarnas egna underlag.",
     "Deltagaren kan bygga en beläggningsplan med formler och tabeller.\n"
     "Deltagaren kan sammanställa produktionsdata med pivottabeller.\n"
     "Deltagaren kan presentera nyckeltal i diagram."),
    ("CNC", "CNC-programmering", 2, "IUC Kalmar län, Kalmar", "Mikael Strand", 8,
     "08:00", "15:00", 80,
     "Programmering av CNC-styrda fleroperationsmaskiner: koordinatsystem, G- och M-koder, "
     "verktygskompensering och simulering innan körning. Praktik i skolans maskinhall.",
     "Deltagaren kan skriva och simulera ett enkelt CNC-program.\n"
     "Deltagaren kan ställa upp maskin, verktyg och nollpunkter.\n"
     "Deltagaren kan optimera ett program för kortare cykeltid."),
    ("ELL", "Industriell ellära", 1, "Nova Oskarshamn", "Anders Fors", 5,
     "08:30", "15:30", 80,
     "Ellära för industrins operatörer och underhållstekniker: spänning, ström och resistans, "
     "mätteknik, trefas, motorer och elsäkerhet enligt ESA.",
     "Deltagaren kan göra säkra mätningar med multimeter och tångamperemeter.\n"
     "Deltagaren kan förklara trefassystemets och asynkronmotorns funktion.\n"
     "Deltagaren känner till reglerna för elsäkert arbete."),
    ("ISO", "Kvalitetsarbete ISO 9001", 2, "IUC Kalmar län, Kalmar", "Cecilia Berg", 3,
     "09:00", "16:00", 80,
     "Kvalitetsledning enligt ISO 9001: processtänkande, riskbaserat tänkande, avvikelsehantering "
     "och interna revisioner, med övningar på egna rutiner.",
     "Deltagaren kan beskriva kraven i ISO 9001 och hur de påverkar det dagliga arbetet.\n"
     "Deltagaren kan hantera en avvikelse från rapport till åtgärd.\n"
     "Deltagaren kan medverka i en intern revision."),
    ("UNDH", "Underhållsteknik", 0, "Campus Västervik, verkstadshallen", "Roger Nilsson", 6,
     "08:00", "15:00", 80,
     "Förebyggande och avhjälpande underhåll: smörjning, lager och transmissioner, "
     "tillståndsövervakning och TPM. Deltagarna tar fram en underhållsplan för en egen maskin.",
     "Deltagaren kan planera förebyggande underhåll för en maskin.\n"
     "Deltagaren kan byta lager och kontrollera uppriktning.\n"
     "Deltagaren kan använda enkel tillståndsövervakning (vibration, temperatur)."),
    ("SVIND", "Svenska för industrin", 1, "Nova Oskarshamn", "Ingela Sund", 10,
     "13:00", "16:00", 70,
     "Yrkessvenska för medarbetare med annat modersmål: instruktioner, säkerhetsskyltar, "
     "avvikelserapporter och samtal med kollegor, med ordlistor från deltagarnas arbetsplatser.",
     "Deltagaren kan läsa och följa arbetsinstruktioner på svenska.\n"
     "Deltagaren kan rapportera en avvikelse muntligt och skriftligt.\n"
     "Deltagaren kan delta i arbetsplatsmöten och säkerhetsgenomgångar."),
)

# days from today to the first session, for each course: finished, running and coming courses
COURSE_STARTS = (-200, -150, -120, -95, -70, -45, -30, -20, -12, 10, 25, 40)

NEEDS = (
    (0, -220, "Behov av fler svetsare med dokumenterad kompetens inför nya order till vindkraft. "
              "Underhållet behöver bättre hydraulikkunskap.",
     "Operatörer i svetsavdelningen, underhållstekniker", ("SVETS", "HYDR", "UNDH")),
    (2, -200, "Gjuteriet inför lean och behöver gemensamt förbättringsarbete. Truckförare saknar "
              "giltigt truckkort.", "Operatörer, lagerpersonal, skiftledare", ("LEAN", "TRUCK")),
    (3, -180, "Nya produktionsledare utan ledarerfarenhet; planeringen görs i egna kalkylark.",
     "Produktionsledare, planerare", ("LEDP", "EXCEL")),
    (6, -160, "Investering i två nya CNC-maskiner; få kan programmera dem.",
     "Maskinoperatörer", ("CNC",)),
    (8, -140, "Certifiering enligt ISO 9001 planeras; arbetsmiljöarbetet ska struktureras.",
     "Kvalitetsansvariga, chefer och skyddsombud", ("ISO", "BAM")),
    (13, -120, "Flera nyanställda med annat modersmål; brister i elsäkerhet vid felsökning.",
     "Montörer, elektriker", ("SVIND", "ELL")),
)


def _weekday_on_or_after(day: date) -> date:
    while day.weekday() >= 5:
        day += timedelta(days=1)
    return day


def _hhmm(text: str) -> time:
    hour, minute = text.split(":")
    return time(int(hour), int(minute))


def _slug(text: str) -> str:
    """'Świątek' -> 'swiatek': letters without their accents, for e-mail addresses."""
    plain = unicodedata.normalize("NFKD", text.lower().replace("ł", "l").replace("ı", "i"))
    return "".join(ch for ch in plain if ch.isascii() and ch.isalnum())


def _email(first: str, last: str, domain: str) -> str:
    return f"{_slug(first)}.{_slug(last)}@{domain}"


def _domain(company: str) -> str:
    return _slug(company.split()[0]) + ".se"


# --------------------------------------------------------------------------------------
# Filling the database
# --------------------------------------------------------------------------------------

def _is_empty(db: Database) -> bool:
    with db.read() as s:
        courses = s.execute(select(func.count()).select_from(Course)).scalar_one()
        people = s.execute(select(func.count()).select_from(Participant)).scalar_one()
    return courses == 0 and people == 0


def fill_demo_if_empty(db: Database) -> dict[str, int] | None:
    """Fill the demo data set when the database has no courses and no participants."""
    if not _is_empty(db):
        return None
    return fill_demo(db)


def fill_demo(db: Database, *, today: date | None = None) -> dict[str, int]:
    """Fill an empty database with the demo programme; the number of records per kind."""
    if not _is_empty(db):
        raise UserError(
            _("The database already holds courses or participants; the demo data goes into an empty database only.")
        )
    today = today or date.today()
    rng = random.Random(SEED)
    now = utcnow()
    stamp = {"created_at": now, "updated_at": now}

    providers = [Provider(id=_id("provider", n), name=name, org_number=org, **stamp)
                 for n, (name, org) in enumerate(PROVIDERS)]

    companies = []
    for n, (name, municipality, industry, contact) in enumerate(COMPANIES):
        first, last = contact.split(" ", 1)
        companies.append(Company(
            id=_id("company", n), name=name, org_number=org_number(rng), municipality=municipality,
            industry=industry, contact_name=contact, contact_email=_email(first, last, _domain(name)),
            contact_phone=f"0{rng.choice(('480', '490', '491', '495', '499'))}-{rng.randrange(10, 99)} "
                          f"{rng.randrange(10, 99)} {rng.randrange(10, 99)}",
            organisation_type="private", **stamp,  # all limited companies (ESF: Privat aktör)
        ))

    participants = []
    seen_numbers: set[str] = set()
    people = list(NAMED_PARTICIPANTS)
    while len(people) < 120:
        female = rng.random() < 0.35
        first = rng.choice(FEMALE if female else MALE)
        people.append((first, rng.choice(LAST), female))
    for n, (first, last, female) in enumerate(people):
        coordination = n % 24 == 3  # a few samordningsnummer
        while True:
            born = date(rng.randint(1965, 2002), rng.randint(1, 12), rng.randint(1, 28))
            pnr = personal_number(rng, born, female, coordination)
            if pnr not in seen_numbers:
                break
        seen_numbers.add(pnr)
        company = companies[n % len(companies)]
        participants.append(Participant(
            id=_id("participant", n), first_name=first, last_name=last, personal_number=pnr,
            gender="female" if female else "male",
            email=_email(first, last, _domain(company.name)) if rng.random() < 0.7 else "",
            phone=f"07{rng.choice('0236')}-{rng.randrange(100, 999)} {rng.randrange(10, 99)} {rng.randrange(10, 99)}"
            if rng.random() < 0.6 else "",
            company_id=company.id, **stamp,
        ))

    courses, sessions, enrollments, marks = [], [], [], []
    for n, (stem, title, prov, location, teacher, count, start, end, min_pct, description, outcomes) in enumerate(COURSES):
        first_day = today + timedelta(days=COURSE_STARTS[n])
        course = Course(
            id=_id("course", stem), code=f"{stem}-{first_day:%y}{n + 1:02d}", title=title,
            description=description, learning_outcomes=outcomes, provider_id=providers[prov].id,
            location=location, teacher=teacher, min_attendance_percent=min_pct,
            certificate_language="sv", capacity=rng.choice((12, 14, 16)), **stamp,
        )
        courses.append(course)
        course_sessions = []
        day = _weekday_on_or_after(first_day)
        gap = 3 if count >= 8 else 7
        for k in range(count):
            session = CourseSession(
                id=_id("session", f"{stem}:{k}"), course_id=course.id, date=day,
                start_time=_hhmm(start), end_time=_hhmm(end), location=location, teacher=teacher,
                cancelled=(n == 4 and k == 2), **stamp,
            )
            course_sessions.append(session)
            day = _weekday_on_or_after(day + timedelta(days=gap))
        sessions.extend(course_sessions)

        # participants from several companies, up to capacity, then a waiting list
        chosen = rng.sample(participants, course.capacity + rng.randint(-3, 2))
        finished = course_sessions[-1].date < today
        for k, person in enumerate(chosen):
            status = "enrolled"
            if k >= course.capacity:
                status = "waitlisted"
            elif rng.random() < 0.06:
                status = "withdrawn"
            person_marks = []
            if status in ("enrolled", "withdrawn"):
                for s_no, session in enumerate(course_sessions):
                    if session.date >= today or session.cancelled:
                        continue
                    if status == "withdrawn" and s_no > 0:
                        break
                    person_marks.append(_mark(rng, session, person.id))
            marks.extend(person_marks)
            if finished and status == "enrolled":
                scheduled = sum(s.minutes for s in course_sessions if not s.cancelled)
                by_session = {m.session_id: m for m in person_marks}
                attended = sum(
                    rules.attended_minutes(by_session[s.id].status, by_session[s.id].minutes, s.minutes, s.cancelled)
                    for s in course_sessions if s.id in by_session
                )
                if rules.is_eligible(attended, scheduled, course.min_attendance_percent):
                    status = "completed"
            enrollments.append(Enrollment(
                id=enrollment_id(course.id, person.id), course_id=course.id, participant_id=person.id,
                status=status, **stamp,
            ))

    needs, links = [], []
    by_stem = {c.id: c for c in courses}
    for company_no, offset, description, groups, stems in NEEDS:
        need = NeedsAnalysis(
            id=_id("need", company_no), company_id=companies[company_no].id, date=today + timedelta(days=offset),
            description=description, target_groups=groups, **stamp,
        )
        needs.append(need)
        for stem in stems:
            course_id = _id("course", stem)
            assert course_id in by_stem
            links.append(NeedCourse(id=_id("need_course", f"{company_no}:{stem}"), need_id=need.id,
                                    course_id=course_id, **stamp))

    from app.services.settings import OrganisationSettings

    settings = OrganisationSettings(
        organisation_name="Campus Västervik", programme_name="Kompetenslyft Kalmar län", place="Västervik",
        signatory_name="Karin Lindqvist", signatory_title="Projektledare, Kompetenslyft Kalmar län",
    )
    with db.write() as s:
        # no relationships tie these models together, so flush parents before children
        for group in (providers, companies, participants, courses, needs, links, sessions, enrollments, marks):
            s.add_all(group)
            s.flush()
        row = s.get(Setting, "organisation") or Setting(key="organisation")
        row.value = json.dumps(asdict(settings), ensure_ascii=False)
        s.add(row)
        s.add(Setting(key=DEMO_KEY, value="1"))  # the window says it is a demo
    return {
        "providers": len(providers),
        "companies": len(companies),
        "participants": len(participants),
        "courses": len(courses),
        "sessions": len(sessions),
        "enrollments": len(enrollments),
        "attendance": len(marks),
        "needs": len(needs),
    }


def _mark(rng: random.Random, session: CourseSession, participant_id: str) -> Attendance:
    roll = rng.random()
    minutes, note = None, ""
    if roll < 0.84:
        status = "present"
    elif roll < 0.91:
        status = "late"
        minutes = session.minutes - rng.choice((15, 20, 30, 45, 60))
        note = rng.choice(("", "Tåget försenat", "Läkarbesök på morgonen", "Kom från nattskift"))
    elif roll < 0.96:
        status = "excused"
        note = rng.choice(("Sjuk", "Vård av barn", "Produktionsstopp, behövdes på plats"))
    else:
        status = "absent"
    return Attendance(
        id=attendance_id(session.id, participant_id), session_id=session.id, participant_id=participant_id,
        status=status, minutes=minutes, note=note,
    )
