"""build_installer.py and packaging/kursdesk.spec, without running PyInstaller.

A real build takes about a minute and a half on the 2-core machine and writes ~200 MB, so it is
not part of the test suite: `python build_installer.py` itself is the end-to-end test (it fails
when the bundle does not pass `--version` and `--smoke`). Here: the spec is executed with stand-ins
for PyInstaller's Analysis/EXE/COLLECT, so its inputs and trimming are checked as PyInstaller
would receive them; the planned steps, the smoke check's verdicts (with a fake bundle program),
the archive and the NSIS script's promises.
"""

from __future__ import annotations

import sys
import tarfile
from pathlib import Path

import build_installer as bi
import pytest

ROOT = Path(bi.__file__).resolve().parent


def _source_files(folder: Path, suffixes: tuple[str, ...] | None = None) -> set[Path]:
    return {
        p for p in folder.rglob("*")
        if p.is_file() and "__pycache__" not in p.parts and (suffixes is None or p.suffix in suffixes)
    }


# --- what goes into the bundle ---------------------------------------------------------------

def test_data_files_list_every_resource_catalog_and_migration_script_at_its_place():
    pairs = bi.data_files(ROOT)
    listed = {Path(src): dest for src, dest in pairs}
    wanted = (
        _source_files(ROOT / "resources")
        | _source_files(ROOT / "translations", (".po",)) - _source_files(ROOT / "translations" / "compiled")
        | {ROOT / "app" / "migrations" / "env.py", ROOT / "app" / "migrations" / "script.py.mako"}
        | set((ROOT / "app" / "migrations" / "versions").glob("*.py"))
    )
    assert any(p.suffix == ".ttf" for p in wanted) and any(p.parent.name == "versions" for p in wanted)
    missing = wanted - set(listed)
    assert not missing, f"not bundled: {sorted(map(str, missing))}"
    for path in wanted:  # each lands where app.config looks for it (same relative folder)
        assert listed[path] == path.parent.relative_to(ROOT).as_posix()


def test_data_files_take_compiled_catalogs_and_skip_caches_and_python_modules(tmp_path):
    (tmp_path / "resources" / "fonts").mkdir(parents=True)
    (tmp_path / "resources" / "fonts" / "F.ttf").write_bytes(b"x")
    (tmp_path / "resources" / "__pycache__").mkdir()
    (tmp_path / "resources" / "__pycache__" / "x.pyc").write_bytes(b"x")
    (tmp_path / "translations" / "sv").mkdir(parents=True)
    (tmp_path / "translations" / "sv" / "core.po").write_text("")
    (tmp_path / "translations" / "compiled" / "sv").mkdir(parents=True)
    (tmp_path / "translations" / "compiled" / "sv" / "core.mo").write_bytes(b"")
    (tmp_path / "app" / "migrations" / "versions").mkdir(parents=True)
    for name in ("__init__.py", "env.py", "script.py.mako", "regenerate_initial.py", "versions/0001_x.py"):
        (tmp_path / "app" / "migrations" / name).write_text("")

    got = {(Path(src).relative_to(tmp_path).as_posix(), dest) for src, dest in bi.data_files(tmp_path)}

    assert got == {
        ("resources/fonts/F.ttf", "resources/fonts"),
        ("translations/sv/core.po", "translations/sv"),
        ("translations/compiled/sv/core.mo", "translations/compiled/sv"),
        ("app/migrations/env.py", "app/migrations"),
        ("app/migrations/script.py.mako", "app/migrations"),
        ("app/migrations/versions/0001_x.py", "app/migrations/versions"),
    }


@pytest.mark.parametrize(
    ("dest", "kept"),
    [
        ("babel/locale-data/root.dat", True),
        ("babel/locale-data/sv.dat", True),
        ("babel/locale-data/sv_FI.dat", True),
        ("babel/locale-data/en.dat", True),
        ("babel/locale-data/en_GB.dat", True),
        ("babel/locale-data/en_001.dat", True),  # en_GB's parent
        ("babel/locale-data/de.dat", False),
        ("babel/locale-data/se.dat", False),  # Northern Sami, not Swedish
        ("babel/locale-data/es_419.dat", False),
        ("babel\\locale-data\\fi.dat", False),  # Windows separators
        ("babel/global.dat", True),
        ("PySide6/Qt/translations/qtbase_sv.qm", True),
        ("PySide6/Qt/translations/qtbase_en.qm", True),
        ("PySide6/Qt/translations/qtbase_de.qm", False),
        ("PySide6\\Qt\\translations\\qt_help_fr.qm", False),
        ("PySide6/Qt/qml/QtQuick/Controls/qmldir", False),
        ("resources/fonts/DejaVuSans.ttf", True),
        ("translations/sv/core.po", True),
        ("app/migrations/env.py", True),
    ],
)
def test_keep_data_trims_foreign_locales_and_qml(dest, kept):
    assert bi.keep_data(dest) is kept


@pytest.mark.parametrize(
    ("dest", "kept"),
    [
        ("PySide6/Qt/lib/libQt6Qml.so.6", False),
        ("PySide6/Qt/lib/libQt6QmlModels.so.6", False),
        ("PySide6/Qt/lib/libQt6Quick.so.6", False),
        ("PySide6\\Qt6Quick.dll", False),
        ("PySide6/Qt/lib/libQt6PdfQuick.so.6", False),
        ("PySide6/Qt6WebEngineCore.dll", False),
        ("PySide6/Qt/plugins/platforminputcontexts/libqtvirtualkeyboardplugin.so", False),
        ("PySide6/libpyside6qml.abi3.so.6.12", False),
        ("PySide6/Qt/lib/libQt6Widgets.so.6", True),
        ("PySide6/Qt/lib/libQt6Pdf.so.6", True),
        ("PySide6/Qt/lib/libQt6PdfWidgets.so.6", True),
        ("PySide6/Qt/lib/libQt6PrintSupport.so.6", True),
        ("PySide6/Qt/plugins/platforms/libqoffscreen.so", True),
        ("libpython3.11.so.1.0", True),
    ],
)
def test_keep_binary_drops_qml_quick_webengine_only(dest, kept):
    assert bi.keep_binary(dest) is kept


@pytest.mark.parametrize(
    ("name", "kept"),
    [
        ("app", True),
        ("app.models", True),
        ("app.migrations", True),
        ("app.services.courses", True),
        ("ui.pages.courses", True),
        ("app.migrations.env", False),  # loaded as a file by Alembic, from the bundled data
        ("app.migrations.versions", False),
        ("app.migrations.versions.0001_initial_schema", False),
        ("app.migrations.regenerate_initial", False),  # developer tool
        ("app.migrations.environment", True),  # a prefix is not a match
    ],
)
def test_keep_module(name, kept):
    assert bi.keep_module(name) is kept


def test_own_modules_exist_and_every_page_is_a_hidden_import_candidate():
    from ui.pages import PAGE_KEYS

    assert bi.OWN_PACKAGES == ("app", "ui")
    for key in PAGE_KEYS:  # imported by name in the main window: only collect_submodules finds them
        assert (ROOT / "ui" / "pages" / f"{key}.py").exists()
        assert bi.keep_module(f"ui.pages.{key}")


class _Recorder:
    def __init__(self, *args, **kwargs):
        self.args, self.kwargs = args, kwargs


def _run_spec(monkeypatch, fake_datas, fake_binaries):
    """Execute packaging/kursdesk.spec as PyInstaller would, with stand-ins for its build classes."""
    import PyInstaller.utils.hooks as hooks

    def fake_collect_submodules(package, filter=None):
        found = [package, f"{package}.sample", "app.migrations.env", "app.migrations.versions.0001_x"]
        return [name for name in found if filter is None or filter(name)]

    monkeypatch.setattr(hooks, "collect_submodules", fake_collect_submodules)
    made = {}

    class Analysis(_Recorder):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self.datas, self.binaries = list(fake_datas), list(fake_binaries)
            self.pure, self.scripts = ["pure"], ["scripts"]
            made["analysis"] = self

    def maker(kind):
        def make(*args, **kwargs):
            made[kind] = _Recorder(*args, **kwargs)
            return made[kind]
        return make

    spec = ROOT / "packaging" / "kursdesk.spec"
    namespace = {
        "SPECPATH": str(spec.parent), "Analysis": Analysis, "PYZ": maker("pyz"), "EXE": maker("exe"),
        "COLLECT": maker("collect"), "__file__": str(spec),
    }
    exec(compile(spec.read_text(encoding="utf-8"), str(spec), "exec"), namespace)
    return made


def test_spec_gives_pyinstaller_the_data_hidden_imports_excludes_and_trims(monkeypatch):
    datas = [
        ("babel/locale-data/sv.dat", "/x/sv.dat", "DATA"),
        ("babel/locale-data/de.dat", "/x/de.dat", "DATA"),
        ("PySide6/Qt/translations/qtbase_sv.qm", "/x/a", "DATA"),
        ("PySide6/Qt/translations/qtbase_fr.qm", "/x/b", "DATA"),
    ]
    binaries = [("PySide6/Qt/lib/libQt6Widgets.so.6", "/x/w", "BINARY"), ("PySide6/Qt/lib/libQt6Quick.so.6", "/x/q", "BINARY")]

    made = _run_spec(monkeypatch, datas, binaries)

    analysis = made["analysis"]
    assert analysis.args == ([str(bi.LAUNCHER)],)
    assert analysis.kwargs["datas"] == bi.data_files(ROOT) + bi.package_data_files()
    hidden = analysis.kwargs["hiddenimports"]
    for name in ("logging.config", "app.models", "alembic.runtime.migration", "app", "app.sample", "ui", "ui.sample"):
        assert name in hidden
    assert "app.migrations.env" not in hidden and "app.migrations.versions.0001_x" not in hidden
    for name in ("PySide6.QtQml", "PySide6.QtQuick", "PySide6.QtWebEngineCore", "tkinter", "pytest"):
        assert name in analysis.kwargs["excludes"]
    collect = made["collect"]
    assert [d[0] for d in collect.args[2]] == ["babel/locale-data/sv.dat", "PySide6/Qt/translations/qtbase_sv.qm"]
    assert [b[0] for b in collect.args[1]] == ["PySide6/Qt/lib/libQt6Widgets.so.6"]
    assert collect.kwargs["name"] == "kursdesk" and made["exe"].kwargs["name"] == "kursdesk"
    assert made["exe"].kwargs["console"] is bi.CONSOLE
    assert made["exe"].kwargs["exclude_binaries"] is True  # one folder, not one file


def test_launcher_runs_the_program_main():
    text = bi.LAUNCHER.read_text(encoding="utf-8")
    assert "from ui.launch import main" in text and "raise SystemExit(main())" in text
    # certificate pages are drawn in worker processes, which a frozen program must let run
    assert text.index("multiprocessing.freeze_support()") < text.index("raise SystemExit(main())")


# --- the steps ---------------------------------------------------------------------------------

def _no_real_work(monkeypatch):
    def boom(*_a, **_k):
        raise AssertionError("a dry run must not do anything")

    for name in ("compile_translations", "run_pyinstaller", "smoke_check", "make_archive", "make_nsis_installer"):
        monkeypatch.setattr(bi, name, boom)
    monkeypatch.setattr(bi.subprocess, "run", boom)


def test_dry_run_plans_compile_bundle_smoke_and_package_and_does_nothing(monkeypatch, capsys):
    _no_real_work(monkeypatch)
    monkeypatch.setattr(bi.sys, "platform", "linux")

    assert bi.main(["--dry-run"]) == 0

    lines = capsys.readouterr().out.splitlines()
    assert [line.split(":")[0] for line in lines] == [
        "1. compile translations", "2. bundle", "3. smoke check", "4. archive",
    ]
    assert "compile_catalogs" in lines[0]
    assert "-m PyInstaller" in lines[1] and str(bi.SPEC) in lines[1] and "--noconfirm" in lines[1]
    assert "--version" in lines[2] and "--smoke" in lines[2] and "QT_QPA_PLATFORM=offscreen" in lines[2]
    assert "KURSDESK_HOME" in lines[2]
    assert lines[3].endswith(".tar.gz")


def test_skip_smoke_leaves_out_the_smoke_check(monkeypatch, capsys):
    _no_real_work(monkeypatch)
    monkeypatch.setattr(bi.sys, "platform", "linux")

    assert bi.main(["--dry-run", "--skip-smoke"]) == 0

    out = capsys.readouterr().out
    assert "smoke" not in out and "1. compile translations" in out and "3. archive" in out


def test_nsis_step_passes_version_payload_and_output(monkeypatch, capsys):
    _no_real_work(monkeypatch)

    assert bi.main(["--dry-run", "--nsis"]) == 0

    out = capsys.readouterr().out
    line = next(line for line in out.splitlines() if ". installer:" in line)
    version = bi.app_version()
    assert "makensis" in line and f"-DVERSION={version}" in line
    assert f"-DSOURCE_DIR={bi.BUNDLE}" in line and f"Kursdesk-{version}-setup.exe" in line
    assert str(bi.NSIS_SCRIPT) in line


def test_windows_without_makensis_ships_the_folder(monkeypatch, capsys):
    _no_real_work(monkeypatch)
    monkeypatch.setattr(bi.sys, "platform", "win32")
    monkeypatch.setattr(bi.shutil, "which", lambda _name: None)

    assert bi.main(["--dry-run"]) == 0

    out = capsys.readouterr().out
    assert "makensis not found" in out and ".tar.gz" not in out


def _fake_bundle(tmp_path, monkeypatch, body: str) -> Path:
    """A stand-in for dist/kursdesk/kursdesk: a Python script that behaves as `body` says."""
    script = tmp_path / "fake_kursdesk.py"
    script.write_text(f"import os, sys, pathlib\nargs = sys.argv[1:]\n{body}\n", encoding="utf-8")
    monkeypatch.setattr(bi, "bundle_command", lambda: [sys.executable, str(script)])
    return script


def test_smoke_check_passes_a_bundle_that_answers(tmp_path, monkeypatch):
    _fake_bundle(tmp_path, monkeypatch, """
assert os.environ["QT_QPA_PLATFORM"] == "offscreen" and os.environ["KURSDESK_HOME"]
if args == ["--version"]:
    print("Kursdesk 9.9")
elif args[0] == "--smoke":
    print("smoke ok")
""")
    assert "passed" in bi.smoke_check("9.9")


def test_smoke_check_reads_the_console_file_of_a_windowed_build(tmp_path, monkeypatch):
    # a windowed Windows program has no stdout: the CLI writes to <KURSDESK_HOME>/log/console.txt
    _fake_bundle(tmp_path, monkeypatch, """
log = pathlib.Path(os.environ["KURSDESK_HOME"]) / "log"
log.mkdir(parents=True, exist_ok=True)
(log / "console.txt").write_text("Kursdesk 9.9\\n" if args == ["--version"] else "smoke ok\\n")
""")
    assert "passed" in bi.smoke_check("9.9")


def test_a_bundle_failing_its_smoke_check_fails_the_build_with_a_clear_message(tmp_path, monkeypatch, capsys):
    _fake_bundle(tmp_path, monkeypatch, """
if args == ["--version"]:
    print("Kursdesk 9.9")
else:
    print("Traceback (most recent call last):", file=sys.stderr)
    print("ModuleNotFoundError: No module named 'logging.config'", file=sys.stderr)
    sys.exit(1)
""")
    monkeypatch.setattr(bi, "compile_translations", lambda: "compiled")
    monkeypatch.setattr(bi, "run_pyinstaller", lambda: "bundled")
    monkeypatch.setattr(bi, "make_archive", lambda version=None: pytest.fail("a broken bundle must not be packaged"))
    monkeypatch.setattr(bi, "app_version", lambda: "9.9")
    monkeypatch.setattr(bi.sys, "platform", "linux")

    assert bi.main([]) == 1

    err = capsys.readouterr().err
    assert "build failed at step 3 (smoke check)" in err
    assert "`kursdesk --smoke` exited 1" in err and "do not ship it" in err
    assert "No module named 'logging.config'" in err  # the bundle's own last lines


def test_smoke_check_wants_the_words_not_only_exit_0(tmp_path, monkeypatch):
    _fake_bundle(tmp_path, monkeypatch, "print('Kursdesk 9.9' if args == ['--version'] else 'nothing')")
    with pytest.raises(bi.BuildError, match="expected exit 0 and 'smoke ok'"):
        bi.smoke_check("9.9")


def test_archive_holds_the_bundle_under_one_top_folder(tmp_path, monkeypatch):
    bundle = tmp_path / "dist" / "kursdesk"
    (bundle / "_internal").mkdir(parents=True)
    (bundle / "kursdesk").write_bytes(b"\x7fELF")
    (bundle / "_internal" / "base_library.zip").write_bytes(b"zip")
    monkeypatch.setattr(bi, "ROOT", tmp_path)
    monkeypatch.setattr(bi, "DIST", tmp_path / "dist")
    monkeypatch.setattr(bi, "BUNDLE", bundle)

    bi.make_archive("1.2.3")

    target = bi.archive_path("1.2.3")
    assert target.name.startswith("kursdesk-1.2.3-") and target.name.endswith(".tar.gz")
    with tarfile.open(target) as tar:
        names = set(tar.getnames())
    assert {"kursdesk", "kursdesk/kursdesk", "kursdesk/_internal/base_library.zip"} <= names


def test_a_missing_makensis_is_a_clear_build_error(monkeypatch):
    monkeypatch.setattr(bi.shutil, "which", lambda _name: None)
    with pytest.raises(bi.BuildError, match="makensis not found"):
        bi.make_nsis_installer("1.0.0")


def test_nsis_script_installs_per_user_in_swedish_and_english_and_keeps_the_data():
    text = bi.NSIS_SCRIPT.read_text(encoding="utf-8")
    assert "Unicode true" in text
    assert "RequestExecutionLevel user" in text
    assert 'InstallDir "$LOCALAPPDATA\\Programs\\${APP_NAME}"' in text
    languages = [line.split('"')[1] for line in text.splitlines() if line.startswith("!insertmacro MUI_LANGUAGE ")]
    assert languages == ["Swedish", "English"]  # Swedish first: the default
    assert "CreateShortcut \"$SMPROGRAMS\\${APP_NAME}\\${APP_NAME}.lnk\"" in text
    for define in ("VERSION", "SOURCE_DIR", "OUT_FILE"):  # what build_installer passes
        assert f"!ifndef {define}" in text
    uninstall = text.split('Section "Uninstall"', 1)[1]
    # the uninstaller removes only what it installed: never the whole folder, never the data dir
    assert 'RMDir /r "$INSTDIR"\n' not in uninstall and 'RMDir "$INSTDIR"' in uninstall
    assert "$APPDATA" not in text and "kursdesk.db" not in text


def test_swedish_holiday_names_go_into_the_bundle():
    pairs = {dest: Path(src).name for src, dest in bi.package_data_files()}
    assert pairs.get("holidays/locale/sv/LC_MESSAGES") == "SE.mo"
    assert bi.keep_data("holidays/locale/sv/LC_MESSAGES/SE.mo")
