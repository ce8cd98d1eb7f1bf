import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

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
