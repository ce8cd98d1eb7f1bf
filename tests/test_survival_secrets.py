"""Secrets stay secret: the SMTP password never appears in --help, in logs, in the database, in the
outbox archive or in an error message, even when the server refuses it or the debug log is on."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from servers import SMTPSink
from helpers import dxwatch, national_article, write_config

SECRET = "mat-khau-bi-mat-7f3a9c"

DIGESTS = """\
smtp: {{host: 127.0.0.1, port: {port}, sender: dxwatch@example.vn, username: dxwatch, password_env: DX_SMTP_PW,
        timeout: 5}}
digests:
  - name: weekly
    max_age: 3650d
    recipients: [canbo@example.vn]
"""


def run(cfg: Path, db: Path, *args: str, env: dict) -> subprocess.CompletedProcess:
    return dxwatch("--config", cfg, "--db", db, *args, env=env)


def everything_written(directory: Path) -> bytes:
    return b"".join(p.read_bytes() for p in directory.rglob("*") if p.is_file())


def test_the_smtp_password_never_leaks(tmp_path):
    cfg = write_config(tmp_path / "cfg", [{"name": "chinhphu", "level": "national",
                                           "start_urls": ["http://127.0.0.1:9/x"]}])
    db = tmp_path / "data" / "dxwatch.db"
    from crawler.db import open_db
    from pipelines.storage import save_article

    save_article(open_db(db), national_article())
    env = {**os.environ, "DX_SMTP_PW": SECRET, "DXWATCH_LOG_LEVEL": "DEBUG"}
    outputs = []
    for help_args in (["--help"], ["digest", "send", "--help"], ["schedule", "run", "--help"]):
        outputs.append(run(cfg, db, *help_args, env=env))

    with SMTPSink(login=("dxwatch", "another-password")) as refusing:  # the server refuses our login
        (cfg / "digests.yaml").write_text(DIGESTS.format(port=refusing.port), encoding="utf-8")
        outputs.append(run(cfg, db, "digest", "send", "weekly", env=env))
        assert refusing.messages == []
    with SMTPSink(login=("dxwatch", SECRET)) as accepting:
        (cfg / "digests.yaml").write_text(DIGESTS.format(port=accepting.port), encoding="utf-8")
        outputs.append(run(cfg, db, "digest", "send", "weekly", env=env))
        outputs.append(run(cfg, db, "digest", "history", env=env))
        assert len(accepting.messages) == 1

    for result in outputs:
        assert SECRET not in result.stdout and SECRET not in result.stderr
    assert "login" in outputs[3].stdout + outputs[3].stderr  # the refusal was reported, without the password
    assert SECRET.encode() not in everything_written(tmp_path / "data")
    assert SECRET.encode() not in everything_written(cfg)
