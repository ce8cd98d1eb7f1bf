"""A real PostgreSQL server on loopback for the tests, started from the installed binaries.

`initdb` + `pg_ctl` from Debian's `postgresql` package (`/usr/lib/postgresql/<version>/bin`, or
whatever `pg_config --bindir` / PATH give) make a throwaway cluster in a temp dir: TCP on 127.0.0.1
at a free port, the socket in the same temp dir, trust auth for the `postgres` superuser, fsync off
(a test cluster is thrown away, never recovered). PostgreSQL refuses to run as root, so as root the
binaries run as the `postgres` system user (`runuser`) on a data dir it owns.

The server must never outlive the test run: `stop()` is called at session end and at interpreter
exit, and a watchdog process stops it (`pg_ctl stop -m immediate`) and removes the temp dir when
the process that started it dies without cleaning up (a killed pytest, a crashed xdist worker).

Where something is missing, `unavailable()` says what, and the fixtures skip with that reason.
"""

from __future__ import annotations

import atexit
import glob
import itertools
import os
import pwd
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from servers import free_port

TEMPLATE = "dxwatch_template"  # an empty database (with unaccent) that each test's database copies
_LOCALES = ("C.UTF-8", "C.utf8", "en_US.UTF-8")


def bin_dir() -> Path | None:
    """Where initdb, pg_ctl and postgres are: Debian's versioned dir (newest), pg_config, or PATH."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"),
                   key=lambda p: [int(x) if x.isdigit() else 0 for x in Path(p).parent.parent.name.split(".")])
    if found:
        return Path(found[-1]).parent
    pg_config = shutil.which("pg_config")
    if pg_config:
        out = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True).stdout.strip()
        if out and (Path(out) / "initdb").exists():
            return Path(out)
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


def unavailable() -> str | None:
    """Why a test PostgreSQL cannot run here (None when it can)."""
    try:
        import psycopg  # noqa: F401
    except ImportError:
        return "psycopg is not installed (pip install 'psycopg[binary]'; `make install` does)"
    if bin_dir() is None:
        return ("no PostgreSQL server binaries (initdb, pg_ctl) found: install Debian's `postgresql` package "
                "(.ci/run does)")
    if os.geteuid() == 0:
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            return "running as root and there is no `postgres` user to run the PostgreSQL server as"
        if shutil.which("runuser") is None:
            return "running as root without `runuser` to start PostgreSQL as the `postgres` user"
    return None


class PostgresServer:
    """One throwaway cluster; `url(db)` gives a libpq URL, `new_database()` a fresh empty database."""

    def __init__(self) -> None:
        self.bin = bin_dir()
        self.root = Path(tempfile.mkdtemp(prefix="dxwatch-pg-"))
        self.data = self.root / "data"
        self.port = 0
        self._names = itertools.count(1)
        self._started = False
        self._watchdog: subprocess.Popen | None = None
        self._as: list[str] = []
        if os.geteuid() == 0:  # PostgreSQL will not run as root: hand the temp dir to `postgres`
            user = pwd.getpwnam("postgres")
            os.chown(self.root, user.pw_uid, user.pw_gid)
            self._as = ["runuser", "-u", "postgres", "--"]

    def _run(self, *args: str) -> subprocess.CompletedProcess:
        return subprocess.run([*self._as, *args], capture_output=True, text=True, cwd=self.root, timeout=120)

    def start(self) -> "PostgresServer":
        locale = next((loc for loc in _LOCALES if self._has_locale(loc)), "C")
        done = self._run(str(self.bin / "initdb"), "-D", str(self.data), "-U", "postgres", "--auth=trust",
                         "-E", "UTF8", f"--locale={locale}", "--no-sync")
        if done.returncode:
            raise RuntimeError(f"initdb failed: {done.stderr.strip() or done.stdout.strip()}")
        for attempt in range(5):  # a free port can be taken between choosing and binding it
            self.port = free_port()
            options = (f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off "
                       "-c synchronous_commit=off -c full_page_writes=off -c max_connections=200 "
                       "-c shared_buffers=32MB")
            done = self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-l", str(self.root / "log"),
                             "-o", options, "-w", "-t", "60", "start")
            if done.returncode == 0:
                break
        else:
            log = (self.root / "log").read_text(errors="replace")[-2000:] if (self.root / "log").exists() else ""
            raise RuntimeError(f"pg_ctl start failed: {done.stderr.strip()}\n{log}")
        self._started = True
        atexit.register(self.stop)
        self._watch()
        self.execute("postgres", f"CREATE DATABASE {TEMPLATE}")
        self.execute(TEMPLATE, "CREATE EXTENSION IF NOT EXISTS unaccent")
        return self

    def _has_locale(self, name: str) -> bool:
        out = subprocess.run(["locale", "-a"], capture_output=True, text=True).stdout.lower().split()
        return name.lower().replace("-", "") in {o.replace("-", "") for o in out}

    def _watch(self) -> None:
        """A process that stops the server when this one dies without calling stop()."""
        script = (f"while kill -0 {os.getpid()} 2>/dev/null; do sleep 1; done; "
                  f"{' '.join(self._as)} {self.bin / 'pg_ctl'} -D {self.data} -m immediate stop >/dev/null 2>&1; "
                  f"rm -rf {self.root}")
        self._watchdog = subprocess.Popen(["sh", "-c", script], start_new_session=True, stdin=subprocess.DEVNULL,
                                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def execute(self, database: str, sql: str) -> None:
        import psycopg

        with psycopg.connect(self.url(database), autocommit=True) as conn:
            conn.execute(sql)

    def new_database(self) -> str:
        """A fresh empty database (a copy of the small template, so it already has `unaccent`); its URL.
        WAL_LOG (the default strategy) copies a small template in under 0.1 s; FILE_COPY forces a
        checkpoint, and copying a migrated template costs more than migrating (~0.2 s)."""
        name = f"test_{os.getpid()}_{next(self._names)}"
        self.execute("postgres", f"CREATE DATABASE {name} TEMPLATE {TEMPLATE}")
        return self.url(name)

    def drop_database(self, url: str) -> None:
        """Drop a test's database (its leftover connections are ended first)."""
        self.execute("postgres", f"DROP DATABASE IF EXISTS {url.rsplit('/', 1)[1]} WITH (FORCE)")

    def stop(self) -> None:
        if self._started:
            self._started = False
            self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "stop")
        if self._watchdog is not None:
            self._watchdog.kill()
            self._watchdog.wait()
            self._watchdog = None
        shutil.rmtree(self.root, ignore_errors=True)


if __name__ == "__main__":  # python tests/postgres.py: start one, print its URL, stop on Enter
    reason = unavailable()
    if reason:
        sys.exit(reason)
    server = PostgresServer().start()
    print(server.new_database())
    try:
        input("PostgreSQL is running; press Enter to stop it\n")
    finally:
        server.stop()
