"""`python -m demo [--anchor YYYY-MM-DD] [--port N] [--sources FILE]`: serve until Ctrl-C."""

from __future__ import annotations

import argparse
import sys
import threading
from datetime import date
from pathlib import Path

from demo.server import serve_demo_outlets


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m demo", description="Serve the Mediawatch demo outlets on 127.0.0.1."
    )
    parser.add_argument("--anchor", help="date the articles are relative to (default: today)")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="default: a free port")
    parser.add_argument("--sources", type=Path, help="also write a source registry here")
    args = parser.parse_args(argv)
    try:
        anchor = date.fromisoformat(args.anchor) if args.anchor else None
    except ValueError:
        parser.exit(2, f"python -m demo: --anchor {args.anchor!r} is not a YYYY-MM-DD date\n")
    try:
        with serve_demo_outlets(anchor, host=args.host, port=args.port) as site:
            counts = site.world.counts()["kind"]
            print(f"Demo outlets at {site.base_url}/", flush=True)
            print(
                f"{len(site.outlets)} outlets, {counts['good']} articles, "
                f"weeks {site.world.iso_weeks[0]}..{site.world.iso_weeks[-1]}",
                flush=True,
            )
            for outlet in site.outlets:
                print(f"  {outlet.outlet_id:<15} {outlet.homepage}", flush=True)
            if args.sources:
                print(f"Source registry: {site.write_sources_yaml(args.sources)}", flush=True)
            print("Ctrl-C to stop.", flush=True)
            threading.Event().wait()
    except KeyboardInterrupt:
        return 0
    except OSError as exc:
        print(f"python -m demo: cannot serve on {args.host}:{args.port}: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
