"""One module per page. Each defines `Page(QWidget)` taking the AppContext, with
`title() -> str` (translated) and `refresh()`, most on ui/pages/base.py's DataPage. The main window builds a page the first time it
is opened; until then only its key and title (below) are needed."""

from app.i18n import N_

PAGE_TITLES = {
    "overview": N_("Overview"),
    "courses": N_("Courses"),
    "participants": N_("Participants"),
    "companies": N_("Companies"),
    "attendance": N_("Attendance"),
    "certificates": N_("Certificates"),
    "reports": N_("Reports"),
    "sync": N_("Sync"),
    "settings": N_("Settings"),
}
PAGE_KEYS = tuple(PAGE_TITLES)
