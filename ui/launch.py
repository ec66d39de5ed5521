"""The `kursdesk` program: the command line of app/cli.py, with the window when no command is
given. The GUI starts here, outside the core (as Anki's runanki.py does), so app/ never names ui/."""

from __future__ import annotations


def main(argv: list[str] | None = None) -> int:
    from app.cli import main as command_line
    from ui.app import run

    return command_line(argv, open_window=run)
