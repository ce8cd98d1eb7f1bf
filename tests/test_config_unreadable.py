"""An unreadable sources.yaml is one config error line (exit code 2), not a traceback. The file is
made unreadable for real: mode 000, read by a process without the root override (setpriv drops
CAP_DAC_OVERRIDE when the tests run as root)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pytest

from helpers import REPO, write_config


def test_an_unreadable_sources_yaml_is_one_config_error(tmp_path):
    cfg = write_config(tmp_path / "cfg", [{"name": "tinh", "start_urls": ["http://127.0.0.1:9/tin-tuc"]}])
    (cfg / "sources.yaml").chmod(0)
    command = [sys.executable, "-m", "crawler", "--config", str(cfg), "--db", str(tmp_path / "x.db"), "crawl"]
    if os.geteuid() == 0:
        if not shutil.which("setpriv"):
            pytest.skip("running as root without setpriv: every file is readable")
        command = ["setpriv", "--bounding-set", "-dac_override,-dac_read_search",
                   "--inh-caps", "-dac_override,-dac_read_search", "--", *command]
    result = subprocess.run(command, capture_output=True, text=True, cwd=REPO, timeout=60)
    assert result.returncode == 2
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "sources.yaml" in lines[0] and "cannot be read" in lines[0], result.stderr
