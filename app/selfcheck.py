"""A self-check of the core, used by `kursdesk --smoke` (and so by the bundle check of
build_installer.py): the parts a frozen bundle most often loses are data files and modules that
are only loaded at run time. No Qt here; the smoke test adds the Qt side (reading the PDF back
with QtPdf, Qt's own translations).

Each check returns a problem line (English, for developers and the build log) or nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from pathlib import Path

# What the sample PDF must contain when read back: the funding statement in Swedish and names
# that Helvetica cannot print (an embedded DejaVu font is needed for Ł, Ş and ễ).
PDF_SAMPLE_NAMES = "Åsa Öberg, Łukasz Şahin, Nguyễn Thị"
PDF_FILE_NAME = "selfcheck.pdf"
SWEDISH_FUNDING_STATEMENT = "Medfinansieras av Europeiska unionen"


def check_pdf(workdir: Path) -> str | None:
    """Write a one-page PDF with the embedded font and the funding statement, and read its bytes
    back: a PDF that is complete, embeds DejaVu and names no built-in Helvetica."""
    from app.documents.common import FONT, draw_funding_statement, new_canvas

    target = workdir / PDF_FILE_NAME
    canvas = new_canvas(str(target), title="Kursdesk self-check")
    draw_funding_statement(canvas, 50, 700, "sv")
    canvas.setFont(FONT, 12)
    canvas.drawString(50, 650, PDF_SAMPLE_NAMES)
    canvas.showPage()
    canvas.save()
    data = target.read_bytes()
    if not data.startswith(b"%PDF-") or b"%%EOF" not in data[-64:]:
        return f"PDF: {target.name} is not a complete PDF file"
    if b"/FontFile2" not in data or b"+DejaVuSans" not in data:
        return "PDF: the DejaVu font is not embedded"
    if b"Helvetica" in data:
        return "PDF: a built-in Helvetica font is referenced"
    return None


def check_babel() -> str | None:
    """Swedish dates and numbers through babel (its locale data is trimmed in the bundle)."""
    from app.i18n import format_date, format_decimal, format_hours, month_name

    got = format_date(date(2026, 3, 5), "long", lang="sv")
    if got != "5 mars 2026":
        return f"babel: Swedish long date is {got!r}, expected '5 mars 2026'"
    if month_name(1, lang="sv") != "januari":
        return "babel: Swedish month names are missing"
    if format_hours(90, lang="sv") != "1,5":
        return f"babel: 90 minutes formatted as {format_hours(90, lang='sv')!r}, expected '1,5'"
    if format_decimal(1234.5, 1, lang="en") != "1,234.5":
        return "babel: English number format is wrong"
    return None


def check_catalog() -> str | None:
    """The Swedish gettext catalog is found and loaded (translations/ in the bundle)."""
    from app.documents.common import FUNDING_STATEMENT
    from app.i18n import translate_in

    got = translate_in("sv", FUNDING_STATEMENT)
    if got != SWEDISH_FUNDING_STATEMENT:
        return f"translations: the Swedish catalog is not loaded ({FUNDING_STATEMENT!r} gives {got!r})"
    return None


def check_migrations(db) -> str | None:
    """The migration scripts are found and the database is at their head."""
    from app.db import current_revision, head_revision

    head = head_revision()
    if not head:
        return "migrations: no migration scripts found"
    current = current_revision(db)
    if current != head:
        return f"migrations: database is at {current!r}, the head is {head!r}"
    return None


def run_selfcheck(db, workdir: Path) -> list[str]:
    """Every core check; returns the problems found (empty when all is well). `workdir` receives
    the sample PDF (selfcheck.pdf), which the caller may read back."""
    workdir = Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    checks: list[tuple[str, Callable[[], str | None]]] = [
        ("pdf", lambda: check_pdf(workdir)),
        ("babel", check_babel),
        ("translations", check_catalog),
        ("migrations", lambda: check_migrations(db)),
    ]
    problems = []
    for name, check in checks:
        try:
            problem = check()
        except Exception as exc:  # noqa: BLE001 - a check that crashes is a failed check
            problem = f"{name}: {type(exc).__name__}: {exc}"
        if problem:
            problems.append(problem)
    return problems
