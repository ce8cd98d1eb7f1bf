import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

# No terminal size from the environment: readline (loaded by pytest) exports the controller's one,
# which pytest-xdist workers inherit, and a rich Console built while COLUMNS is set keeps that width
# for good. Commands run by tests.helpers.dxwatch then size their output as a child process with
# pipes would (80 columns), or by the COLUMNS a test passes for the run.
for _name in ("COLUMNS", "LINES"):
    os.environ.pop(_name, None)
    os.unsetenv(_name)

import postgres  # noqa: E402
from servers import PortalServer, SMTPSink  # noqa: E402

SHARED = Path(__file__).resolve().parents[1].parent / "shared"


@pytest.fixture
def portal():
    """A loopback HTTP server; add routes with `portal.routes[path] = Page(...)`."""
    with PortalServer() as server:
        yield server


@pytest.fixture
def smtp():
    with SMTPSink() as sink:
        yield sink


@pytest.fixture
def db_path(tmp_path):
    return tmp_path / "dxwatch.db"


@pytest.fixture
def shared_dir():
    """../shared next to the checkout; tests that need it skip cleanly where it is absent."""
    if not SHARED.is_dir():
        pytest.skip("../shared is not present in this checkout")
    return SHARED


@pytest.fixture(scope="session")
def postgres_server():
    """A real PostgreSQL server on loopback for this test process (each xdist worker starts its own,
    on first use only); skips with the reason where PostgreSQL or psycopg is not installed."""
    reason = postgres.unavailable()
    if reason:
        pytest.skip(reason)
    server = postgres.PostgresServer()
    try:
        server.start()
        yield server
    finally:
        server.stop()


@pytest.fixture
def postgres_url(postgres_server):
    """The URL of a fresh, empty database on the test server (dropped after the test)."""
    url = postgres_server.new_database()
    yield url
    postgres_server.drop_database(url)


@pytest.fixture(params=["sqlite", "postgresql"])
def db_target(request, tmp_path, monkeypatch):
    """What `--db` gets, once per backend: an SQLite file path, or the URL of a fresh PostgreSQL
    database (files that go with it, e.g. digest archives, in tmp_path/data via DXWATCH_DATA)."""
    if request.param == "sqlite":
        yield str(tmp_path / "data" / "dxwatch.db")
        return
    server = request.getfixturevalue("postgres_server")
    monkeypatch.setenv("DXWATCH_DATA", str(tmp_path / "data"))
    url = server.new_database()
    yield url
    server.drop_database(url)


def pytest_collection_modifyitems(items):
    """Tests marked `slow` run first: pytest-xdist hands out tests in this order, so the long ones
    start at once on every worker instead of one of them ending the run alone."""
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)
