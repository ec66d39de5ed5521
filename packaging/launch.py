"""Entry point of the frozen program (PyInstaller): the same as `python -m ui` (`kursdesk`)."""

import multiprocessing

from ui.launch import main

if __name__ == "__main__":
    # certificate pages are drawn in worker processes; a frozen program must let a worker
    # run its task instead of starting the application again
    multiprocessing.freeze_support()
    raise SystemExit(main())
