"""The `kursdesk` program: the command line of app/cli.py, with the window when no command is
given. The GUI starts here, outside the core (as Anki's runanki.py does), so app/ never names ui/;
a command other than the window never imports Qt."""

from __future__ import annotations


def main(argv: list[str] | None = None) -> int:
    from app.cli import main as command_line

    return command_line(argv, open_window=open_window)


def open_window(**options) -> int:
    """ui/app.py's run(). No collection of reference cycles while the modules load (the window's
    collector takes over: ui/collector.py). SQLAlchemy and the models load after the window's
    first paint, when its database opens (ui/app.py)."""
    import gc

    gc.disable()
    from ui.app import run

    return run(**options)
