"""`kursdesk sync`: set-up, exit 0 when all is in, exit 2 with one line for a problem."""

from __future__ import annotations

import shutil

from app.cli import main
from tests.sync.conftest import add_participant, fresh_db


def test_cli_setup_sync_and_problems(tmp_path, capsys):
    share, key = tmp_path / "share", tmp_path / "prog.key"
    assert main(["--lang", "en", "sync", "--folder", str(share), "--setup", "--key", str(key)]) == 0
    assert key.exists() and (share / "format.json").exists()
    a, b = fresh_db(tmp_path / "a.db"), fresh_db(tmp_path / "b.db")
    add_participant(a)
    assert main(["--lang", "en", "sync", "--db", str(a.path), "--folder", str(share)]) == 0
    assert "Published 1 batch." in capsys.readouterr().out
    batch = next((share / "devices").rglob("00000001.batch"))
    good = batch.read_bytes()
    batch.write_bytes(good[:-5])
    assert main(["--lang", "en", "sync", "--db", str(b.path), "--folder", str(share), "--key", str(key)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "batch 1" in err[0] and batch.parent.name[:8] in err[0]
    batch.write_bytes(good)
    assert main(["--lang", "en", "sync", "--db", str(b.path), "--folder", str(share)]) == 0
    shutil.rmtree(share)
    assert main(["--lang", "en", "sync", "--db", str(b.path), "--folder", str(share)]) == 2
    assert "cannot be found" in capsys.readouterr().err
    # setting up again over a non-empty folder is refused
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "x.txt").write_text("x")
    assert main(["--lang", "en", "sync", "--folder", str(tmp_path / "busy"), "--setup", "--key", str(tmp_path / "k2")]) == 2
    assert not (tmp_path / "k2").exists()
