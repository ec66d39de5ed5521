"""The Qt shell. Calls app.services only; never opens a database session or builds a query."""

import sys

if sys.implementation.name == "cpython" and sys.version_info < (3, 12):
    # PySide6 6.12.0 on Python 3.11 drops one reference to None on every call of a void C++
    # method (setText, beginResetModel, ...) and to True/False on every Signal.emit() from Python;
    # after some ten thousand calls the interpreter aborts ("deallocating None"). Python 3.12 made
    # these objects immortal (PEP 683); on 3.11 we do the same by giving them a reference count
    # that no deficit can use up. ob_refcnt is the first field of every CPython object.
    import ctypes

    for _obj in (None, True, False):
        ctypes.c_ssize_t.from_address(id(_obj)).value += 1 << 40
    del _obj
