"""One module per page. Each defines `Page(QWidget)` taking the AppContext, with
`title() -> str` (translated) and `refresh()`."""

PAGE_KEYS = ("courses", "participants", "companies", "attendance", "certificates", "reports", "sync", "settings")
