"""`make bench` (quick) and `make bench-full`: run every benchmark and evaluation script in bench/.

The full run takes the better part of an hour on two cores (4,000 loopback portals crawled twice
by two paths, 100,000 stories, 3,000 portals over 1, 2 and 4 workers, storage alone by 1, 2 and 4 writers). The quick default runs the
same scripts at the smaller sizes below, a few minutes in all, with every check of the full run
(every article stored, no duplicate, re-crawls asking listings only); BENCHMARKS.md's figures
come from the full run. `python bench/run_all.py --full` (or `BENCH=full`) is the full run;
`--only NAME` runs the named scripts only.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

# The arguments of the quick run; a script not named here runs as in the full run.
QUICK = {
    "crawl_bench.py": ["--portals", "4", "--articles", "100"],
    "national_bench.py": ["--sizes", "100"],
    "dedup_scaling.py": ["--sizes", "10000"],
    "discovery_eval.py": ["--quick"],
    "scaleout_bench.py": ["--hosts", "100", "--workers", "1,2"],
    "store_bench.py": ["--articles", "300", "--writers", "1,2"],
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--full", action="store_true", default=os.environ.get("BENCH") == "full",
                        help="the full sizes (what BENCHMARKS.md reports); default: quick")
    parser.add_argument("--only", action="append", default=[], metavar="NAME",
                        help="run only this script (repeatable), e.g. --only crawl_bench")
    args = parser.parse_args()
    here = Path(__file__).parent
    scripts = sorted(p for p in here.glob("*.py") if p.name != "run_all.py" and not p.name.startswith("_"))
    if args.only:
        wanted = {name.removesuffix(".py") + ".py" for name in args.only}
        unknown = wanted - {p.name for p in scripts}
        if unknown:
            sys.exit(f"no such benchmark: {', '.join(sorted(unknown))}")
        scripts = [p for p in scripts if p.name in wanted]
    failed = []
    for script in scripts:
        extra = [] if args.full else QUICK.get(script.name, [])
        print(f"== {script.name} {' '.join(extra)}".rstrip(), flush=True)
        started = time.perf_counter()
        if subprocess.run([sys.executable, str(script), *extra], cwd=here.parent).returncode:
            failed.append(script.name)
        print(f"== {script.name}: {time.perf_counter() - started:.0f} s", flush=True)
    if failed:
        sys.exit(f"failed: {', '.join(failed)}")


if __name__ == "__main__":
    main()
