"""Build the Kursdesk installer: one script, four steps.

    python build_installer.py [--dry-run] [--skip-smoke] [--nsis]

1. compile the translation catalogs (.po -> .mo);
2. bundle with PyInstaller, one folder (packaging/kursdesk.spec, which takes its lists from this
   file: data files, hidden imports, excluded modules, and the filters that trim Qt translations,
   babel locales and the Qml/Quick libraries);
3. smoke-test the bundle: `kursdesk --version`, and `kursdesk --smoke` (offscreen, temporary
   KURSDESK_HOME) on a fresh database and on a demo database; a failure stops the build with a
   clear message;
4. package: a .tar.gz of the folder on Linux and macOS; on Windows an NSIS installer when makensis
   is available (`--nsis` also compiles the NSIS script elsewhere, to check it).

PyInstaller cannot cross-compile: the Windows bundle must be built on Windows.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

ROOT = Path(__file__).resolve().parent
NAME = "kursdesk"
SPEC = ROOT / "packaging" / "kursdesk.spec"
NSIS_SCRIPT = ROOT / "packaging" / "kursdesk.nsi"
LAUNCHER = ROOT / "packaging" / "launch.py"
DIST = ROOT / "dist"
WORK = ROOT / "build" / "pyinstaller"
BUNDLE = DIST / NAME
SMOKE_TIMEOUT = 180  # seconds; a first start of a fresh bundle on a slow laptop

# Windows: a windowed program (no console flashing up); stdout is then None and the CLI writes
# its output to <log dir>/console.txt (app/cli.py), which the smoke step reads.
CONSOLE = sys.platform != "win32"
# Strip debug symbols from the bundled libraries on Linux (libpython alone carries ~18 MB of them);
# PyInstaller advises against stripping on Windows and macOS (signatures).
STRIP = sys.platform.startswith("linux")

# --- what goes into the bundle (read by packaging/kursdesk.spec) ---------------------------

OWN_PACKAGES = ("app", "ui")

# Modules loaded only at run time, which PyInstaller's analysis cannot see: Alembic loads env.py
# and versions/*.py as files (their imports: logging.config, app.models, alembic.op, sqlalchemy),
# the main window imports its pages by name (the whole of app and ui comes from collect_submodules).
HIDDEN_IMPORTS = (
    "logging.config",
    "app.models",
    "alembic.op",
    "alembic.context",
    "alembic.runtime.migration",
    "alembic.runtime.environment",
    "alembic.script",
    "alembic.operations",
    "alembic.operations.toimpl",
    "alembic.ddl.sqlite",
    "sqlalchemy.dialects.sqlite",
    "sqlalchemy.sql.default_comparator",
    # a PostgreSQL server (app/server.py): SQLAlchemy loads its dialect and psycopg 3 by URL, and
    # psycopg its compiled implementation (psycopg_binary, with libpq) by name
    "sqlalchemy.dialects.postgresql",
    "sqlalchemy.dialects.postgresql.psycopg",
    "alembic.ddl.postgresql",
    "psycopg",
    "psycopg_binary",
    "psycopg_binary.pq",
    "psycopg_binary._psycopg",
    # the operating system's credential store: keyring finds its backends through entry points
    "keyring.backends",
    "keyring.backends.Windows",
    "keyring.backends.macOS",
    "keyring.backends.SecretService",
    "keyring.backends.kwallet",
    "keyring.backends.libsecret",
    "keyring.backends.chainer",
    "keyring.backends.fail",
)

# Loaded as files by Alembic (not as modules), or developer tools: never bundled as modules.
_NOT_MODULES = ("app.migrations.env", "app.migrations.versions", "app.migrations.regenerate_initial")

EXCLUDES = (
    "tkinter",
    "_tkinter",
    "PIL.ImageTk",
    "PIL.ImageQt",
    "PySide6.QtQml",
    "PySide6.QtQmlFeatures",
    "PySide6.QtQuick",
    "PySide6.QtQuickControls2",
    "PySide6.QtQuickTest",
    "PySide6.QtQuickWidgets",
    "PySide6.QtWebEngineCore",
    "PySide6.QtWebEngineWidgets",
    "PySide6.QtWebEngineQuick",
    "PySide6.QtDesigner",
    "PySide6.QtHelp",
    "PySide6.QtUiTools",
    "PySide6.QtTest",
    "PySide6.QtLabsStyleKit",
    "pytest",
    "_pytest",
    "pytestqt",
    "hypothesis",
    "pypdf",
    "PyInstaller",
    "IPython",
    "numpy",
    "setuptools",
    "pip",
    "tests",
    "benchmarks",
)

# Qt libraries nobody uses here (Qml/Quick come in with some plugins; WebEngine with the pyside6
# metapackage): dropped from the bundle, matched on the file name.
_DROP_BINARIES = (
    "Qt6Qml",
    "Qt6Quick",
    "Qt6WebEngine",
    "Qt6VirtualKeyboard",
    "Qt6Designer",
    "Qt6Lottie",
    "Qt6Labs",
    "Qt6PdfQuick",
    "pyside6qml",
    "qtvirtualkeyboard",
)
LANGUAGE_PREFIXES = ("sv", "en")


def keep_module(name: str) -> bool:
    """Filter for collect_submodules: False for what Alembic loads as files and dev tools."""
    return not any(name == n or name.startswith(n + ".") for n in _NOT_MODULES)


def _norm(dest: str) -> str:
    return dest.replace("\\", "/")


def keep_data(dest: str) -> bool:
    """Trim data files: Qt's translations only for sv/en, babel's locale data only root, sv*, en*,
    and nothing of Qml."""
    dest = _norm(dest)
    file_name = dest.rsplit("/", 1)[-1]
    if "PySide6/Qt/translations/" in dest and file_name.endswith(".qm"):
        return file_name.endswith(tuple(f"_{lang}.qm" for lang in LANGUAGE_PREFIXES))
    if "babel/locale-data/" in dest and file_name.endswith(".dat"):
        stem = file_name[: -len(".dat")]
        return stem == "root" or stem.split("_")[0] in LANGUAGE_PREFIXES
    if "PySide6/Qt/qml/" in dest:
        return False
    return True


def keep_binary(dest: str) -> bool:
    dest = _norm(dest)
    if "PySide6/Qt/qml/" in dest:
        return False
    file_name = dest.rsplit("/", 1)[-1]
    return not any(part in file_name for part in _DROP_BINARIES)


def _files(folder: Path, patterns: tuple[str, ...]) -> list[Path]:
    found: set[Path] = set()
    for pattern in patterns:
        found.update(p for p in folder.glob(pattern) if p.is_file() and "__pycache__" not in p.parts)
    return sorted(found)


def data_files(root: Path = ROOT) -> list[tuple[str, str]]:
    """(source file, destination folder in the bundle) for every data file the app loads at run
    time: resources/ (fonts, icons, emblem), translations/ (.po and compiled .mo), and Alembic's
    env.py, script.py.mako and versions/*.py under app/migrations (where app.config.MIGRATIONS
    points in the frozen app too)."""
    pairs: list[tuple[str, str]] = []
    groups = (
        (root / "resources", ("**/*",)),
        (root / "translations", ("*/*.po", "compiled/*/*.mo")),
        (root / "app" / "migrations", ("env.py", "script.py.mako", "versions/*.py")),
    )
    for folder, patterns in groups:
        for path in _files(folder, patterns):
            pairs.append((str(path), path.parent.relative_to(root).as_posix()))
    return pairs


def package_data_files() -> list[tuple[str, str]]:
    """Data files of installed packages that PyInstaller's hooks do not collect: the Swedish
    holiday names of `holidays` (course series skip public holidays)."""
    pairs: list[tuple[str, str]] = []
    try:
        import holidays
    except ImportError:  # not installed: the dry run still plans the rest
        return pairs
    package = Path(holidays.__file__).parent
    for lang in ("sv", "en_US"):
        mo = package / "locale" / lang / "LC_MESSAGES" / "SE.mo"
        if mo.exists():
            pairs.append((str(mo), mo.parent.relative_to(package.parent).as_posix()))
    return pairs


def _importable_app() -> None:
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))


def app_version() -> str:
    _importable_app()
    from app import __version__

    return __version__


# --- the steps -------------------------------------------------------------------------------


class BuildError(RuntimeError):
    """A step failed; the message says which and why."""


@dataclass
class Step:
    title: str
    describe: str  # what the step does, shown by --dry-run
    action: Callable[[], str | None]  # returns a one-line result


def bundle_executable(bundle: Path = BUNDLE) -> Path:
    return bundle / (NAME + (".exe" if sys.platform == "win32" else ""))


def bundle_command() -> list[str]:
    """How to start the bundled program (tests put a stand-in here)."""
    return [str(bundle_executable())]


def pyinstaller_command() -> list[str]:
    return [
        sys.executable, "-m", "PyInstaller", "--noconfirm",
        "--distpath", str(DIST), "--workpath", str(WORK), str(SPEC),
    ]


def compile_translations() -> str:
    _importable_app()
    from app.i18n import compile_catalogs

    written = compile_catalogs()
    if not written:
        raise BuildError("compile catalogs: no .po files found under translations/")
    return f"{len(written)} catalogs compiled"


def run_pyinstaller() -> str:
    try:
        import PyInstaller  # noqa: F401
    except ImportError:
        raise BuildError("PyInstaller is not installed: run `.venv/bin/pip install -e .[dev]`") from None
    result = subprocess.run(pyinstaller_command(), cwd=ROOT)
    if result.returncode != 0:
        raise BuildError(f"PyInstaller failed with exit code {result.returncode} (its output is above)")
    if not bundle_executable().exists():
        raise BuildError(f"PyInstaller finished but {bundle_executable()} is missing")
    return f"bundle {BUNDLE.relative_to(ROOT)}: {folder_size(BUNDLE) / 1e6:.0f} MB"


def _run_bundle(args: list[str], home: Path) -> tuple[int, str]:
    """Run the bundled program with KURSDESK_HOME=home and offscreen Qt; returns the exit code
    and its output (stdout+stderr, or <home>/log/console.txt for a windowed build)."""
    env = dict(os.environ, KURSDESK_HOME=str(home), QT_QPA_PLATFORM="offscreen")
    command = bundle_command() + args
    try:
        result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=SMOKE_TIMEOUT)
    except subprocess.TimeoutExpired:
        return -1, f"no answer after {SMOKE_TIMEOUT} s"
    except OSError as exc:
        return -1, f"cannot start: {exc}"
    output = (result.stdout or "") + (result.stderr or "")
    console = home / "log" / "console.txt"
    if console.exists():
        output += console.read_text(encoding="utf-8", errors="replace")
    return result.returncode, output


def smoke_check(version: str | None = None) -> str:
    """`--version` and `--smoke` of the bundle must exit 0 and say so; else BuildError."""
    version = version or app_version()
    with tempfile.TemporaryDirectory(prefix="kursdesk-bundle-check-") as tmp:
        home = Path(tmp) / "home"
        demo_db = str(Path(tmp) / "demo.db")
        checks = (
            (["--version"], f"Kursdesk {version}"),
            (["--smoke", "--db", str(Path(tmp) / "smoke.db")], "smoke ok"),  # a fresh database
            (["demo", "--db", demo_db], ""),  # then every page once more with a year of data
            (["--smoke", "--db", demo_db], "smoke ok"),
        )
        for args, expected in checks:
            started = time.monotonic()
            code, output = _run_bundle(args, home)
            shown = "kursdesk " + " ".join(a for a in args if a != "--db" and not a.endswith(".db"))
            if code != 0 or expected not in output:
                tail = "\n".join("    " + line for line in output.strip().splitlines()[-15:])
                raise BuildError(
                    f"the bundle failed its smoke check: `{shown}` exited {code}"
                    f" (expected exit 0 and {expected!r}); the bundle is broken, do not ship it."
                    + (f"\n  output:\n{tail}" if tail else "")
                )
            print(f"    {shown}: exit 0, {time.monotonic() - started:.1f} s")
    return "bundle smoke check passed (--version, --smoke on a fresh and on a demo database)"


def folder_size(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file() and not p.is_symlink())


def _platform_tag() -> str:
    system = {"linux": "linux", "darwin": "macos", "win32": "windows"}.get(sys.platform, sys.platform)
    return f"{system}-{platform.machine().lower()}"


def archive_path(version: str) -> Path:
    return DIST / f"{NAME}-{version}-{_platform_tag()}.tar.gz"


def make_archive(version: str | None = None) -> str:
    target = archive_path(version or app_version())
    tmp = target.with_suffix(".tmp")
    with tarfile.open(tmp, "w:gz", compresslevel=6) as tar:
        tar.add(BUNDLE, arcname=NAME)
    tmp.replace(target)
    return f"{target.relative_to(ROOT)}: {target.stat().st_size / 1e6:.0f} MB"


def installer_path(version: str) -> Path:
    return DIST / f"Kursdesk-{version}-setup.exe"


def nsis_command(version: str) -> list[str]:
    return [
        "makensis", "-V2",
        f"-DVERSION={version}",
        f"-DSOURCE_DIR={BUNDLE}",
        f"-DOUT_FILE={installer_path(version)}",
        str(NSIS_SCRIPT),
    ]


def make_nsis_installer(version: str | None = None) -> str:
    version = version or app_version()
    if shutil.which("makensis") is None:
        raise BuildError("makensis not found: install NSIS (https://nsis.sourceforge.io; Debian: apt-get install nsis)")
    result = subprocess.run(nsis_command(version), cwd=ROOT)
    if result.returncode != 0:
        raise BuildError(f"makensis failed with exit code {result.returncode} (its output is above)")
    target = installer_path(version)
    return f"{target.relative_to(ROOT)}: {target.stat().st_size / 1e6:.0f} MB"


def plan(*, skip_smoke: bool = False, nsis: bool = False, version: str | None = None) -> list[Step]:
    version = version or app_version()
    exe = bundle_executable()
    steps = [
        Step("compile translations", "app.i18n.compile_catalogs(): translations/<lang>/*.po -> "
             "translations/compiled/<lang>/*.mo", compile_translations),
        Step("bundle", " ".join(pyinstaller_command()), run_pyinstaller),
    ]
    if not skip_smoke:
        steps.append(Step(
            "smoke check",
            f"KURSDESK_HOME=<temp> QT_QPA_PLATFORM=offscreen: `{exe} --version` and "
            f"`{exe} --smoke --db <temp>/smoke.db`, then `demo` and `--smoke` on <temp>/demo.db; "
            "each must exit 0",
            lambda: smoke_check(version),
        ))
    use_nsis = nsis or (sys.platform == "win32" and shutil.which("makensis") is not None)
    if use_nsis:
        steps.append(Step("installer", " ".join(nsis_command(version)), lambda: make_nsis_installer(version)))
    if sys.platform != "win32":
        steps.append(Step("archive", f"tar.gz of {BUNDLE} -> {archive_path(version)}",
                          lambda: make_archive(version)))
    elif not use_nsis:
        steps.append(Step("installer", "makensis not found: no installer; ship the folder "
                          f"{BUNDLE} (install NSIS to build one)", lambda: "skipped (no makensis)"))
    return steps


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="build_installer.py", description="Build the Kursdesk bundle and installer.")
    parser.add_argument("--dry-run", action="store_true", help="print the steps and do nothing")
    parser.add_argument("--skip-smoke", action="store_true", help="do not smoke-test the bundle (not for releases)")
    parser.add_argument("--nsis", action="store_true", help="also compile the NSIS installer (needs makensis)")
    args = parser.parse_args(argv)
    steps = plan(skip_smoke=args.skip_smoke, nsis=args.nsis)
    if args.dry_run:
        for number, step in enumerate(steps, 1):
            print(f"{number}. {step.title}: {step.describe}")
        return 0
    started = time.monotonic()
    for number, step in enumerate(steps, 1):
        print(f"[{number}/{len(steps)}] {step.title} ...", flush=True)
        t0 = time.monotonic()
        try:
            result = step.action()
        except BuildError as exc:
            print(f"build failed at step {number} ({step.title}): {exc}", file=sys.stderr)
            return 1
        print(f"[{number}/{len(steps)}] {step.title}: {result} ({time.monotonic() - t0:.1f} s)", flush=True)
    print(f"build ok in {time.monotonic() - started:.0f} s: {BUNDLE}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
