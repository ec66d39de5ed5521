"""The `kursdesk` program: the command line of app/cli.py, with the window when no command is
given. The GUI starts here, outside the core (as Anki's runanki.py does), so app/ never names ui/;
a command other than the window never imports Qt."""

from __future__ import annotations


def main(argv: list[str] | None = None) -> int:
    from app.cli import main as command_line

    return command_line(argv, open_window=open_window)


def open_window(**options) -> int:
    """ui/app.py's run(). The core's libraries load before Qt's: PySide6 hooks every import made
    after it, which makes SQLAlchemy's (the largest) a third slower. No collection of reference
    cycles while the modules load (the window's collector takes over: ui/collector.py)."""
    import gc

    gc.disable()
    import app.sync.capture  # noqa: F401 - SQLAlchemy, the models: see above
    from ui.app import run

    return run(**options)
