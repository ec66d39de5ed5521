"""The Qt shell. Calls app.services only; never opens a database session or builds a query."""
