"""A Guichet server for the HTTP benchmarks: `python -m bench.server CONFIG.json PORT` serves create_app(config)
with waitress on 127.0.0.1 (no timer scheduler), until terminated."""
from __future__ import annotations

import json
import signal
import sys


def main() -> None:
    from waitress import serve

    from webui.app import create_app
    from webui.cli import settle

    config = json.loads(open(sys.argv[1], encoding="utf-8").read())
    port = int(sys.argv[2])
    app = create_app(config=config)
    settle()  # as `guichet serve` does
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    serve(app, host="127.0.0.1", port=port, threads=config["server"]["threads"], ident="guichet-bench",
          _quiet=True)


if __name__ == "__main__":
    main()
