"""Instructions per lifecycle under valgrind (callgrind): SpiffWorkflow alone vs Guichet's service layer.

Wall-clock ratios on a shared machine move by ±30% with the neighbours' load; instruction counts do not
(the same code on the same inputs gives nearly the same count). Each side runs in its own process
twice, with N1 and N2 lifecycles after the same warm-up; the difference over N2 − N1 is one lifecycle,
start-up and warm-up cancelled out. Instructions are not time (a cache miss costs more than an add), so
this figure explains the wall-clock ratio rather than replacing it. Needs `valgrind` on PATH.

`python -m bench.instructions engine|guichet N` is the child each measurement runs.
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

from .common import say, size

_COLLECTED = re.compile(r"Collected : (\d+)")


def _child(mode: str, n: int) -> None:
    if mode == "engine":
        from engine.expressions import SafeScriptEngine

        from .engine_only import _no_service, lifecycle, parse

        spec, subs = parse()
        script_engine = SafeScriptEngine(service_handler=_no_service)
        for _ in range(20 + n):
            lifecycle(spec, subs, script_engine)
        return
    from engine import checkpoint

    from .common import build_app, cleanup, make_config, sqlite_url, tempdir
    from .service_layer import Driver

    # The checkpoint thread wakes by the clock; under valgrind, about 50 times slower, it would wake 50
    # times as often per lifecycle as it does for real.
    checkpoint.INTERVAL_SECONDS *= 50

    folder = tempdir("instructions")
    app = build_app(make_config(sqlite_url(folder), folder))
    driver = Driver(app)
    for _ in range(20 + n):
        driver.lifecycle()
    app.extensions["guichet_engine"].dispose()
    cleanup()


def _count(mode: str, n: int) -> int:
    command = ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null",
               sys.executable, "-m", "bench.instructions", mode, str(n)]
    # A fixed hash seed: set and dict layouts, and so the count, then repeat from run to run.
    done = subprocess.run(command, capture_output=True, text=True, check=True,
                          env={**os.environ, "PYTHONHASHSEED": "0"})
    return int(_COLLECTED.search(done.stderr).group(1))


def run() -> tuple[dict, dict]:
    if shutil.which("valgrind") is None:
        say("instructions: valgrind not found, skipped")
        return {}, {"instructions": "skipped: valgrind not found"}
    n1, n2 = 5, 5 + size("instruction_lifecycles", 20)
    say(f"instructions: callgrind, {n1} and {n2} lifecycles per side (a minute or two) …")
    runs = [(mode, n) for mode in ("engine", "guichet") for n in (n1, n2)]
    with ThreadPoolExecutor(max_workers=2) as pool:
        counts = dict(zip(runs, pool.map(lambda run: _count(*run), runs)))
    per = {mode: (counts[(mode, n2)] - counts[(mode, n1)]) / (n2 - n1) for mode in ("engine", "guichet")}
    ratio = per["guichet"] / per["engine"]
    say(f"instructions: engine {per['engine'] / 1e6:.2f} M, Guichet {per['guichet'] / 1e6:.2f} M per lifecycle "
        f"({ratio:.2f}×)")
    return ({"engine_only_minstr_per_lifecycle": round(per["engine"] / 1e6, 2),
             "guichet_minstr_per_lifecycle_sqlite": round(per["guichet"] / 1e6, 2),
             "guichet_vs_engine_sqlite_instructions": round(ratio, 2)},
            {"instructions": f"callgrind, ({n2} − {n1}) lifecycles per side after 20 warm-up, one process each"})


if __name__ == "__main__":
    _child(sys.argv[1], int(sys.argv[2]))
