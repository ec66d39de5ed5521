"""app/ must import and work with PySide6 unavailable."""

import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_app_imports_and_works_without_pyside6(tmp_path):
    script = textwrap.dedent(
        f"""
        import importlib.abc, sys, pkgutil

        class Block(importlib.abc.MetaPathFinder):
            def find_spec(self, name, path=None, target=None):
                if name == "PySide6" or name.startswith("PySide6."):
                    raise ImportError("PySide6 is blocked in this test")
                return None

        sys.meta_path.insert(0, Block())
        import app
        for mod in pkgutil.walk_packages(app.__path__, "app."):
            if ".migrations." in mod.name:
                continue
            importlib.import_module(mod.name)
        from app.db import Database
        db = Database(r"{tmp_path / 'x.db'}")
        from app.cli import main
        assert main(["--db", r"{tmp_path / 'x.db'}", "courses"]) == 0
        assert not any(m.startswith("PySide6") for m in sys.modules)
        print("ok")
        """
    )
    result = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True,
                            env={"KURSDESK_HOME": str(tmp_path / "home"), "PATH": "/usr/bin:/bin"})
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().endswith("ok")


def test_no_module_in_app_imports_pyside6():
    offenders = [
        str(p.relative_to(ROOT))
        for p in (ROOT / "app").rglob("*.py")
        if any(line.lstrip().startswith(("import PySide6", "from PySide6")) for line in p.read_text().splitlines())
    ]
    assert offenders == []
