"""Check datasets before a long training run: list them, and with --load read every study
through the same loaders and checks the trainer uses.

    python -m covid_triage.datasets mosmed=/data/COVID19_1110 nsclc=/data/nsclc [--load]

Exit status 0 when every listed study loads (or --load was not asked), 1 otherwise.
"""
from __future__ import annotations

import argparse
import logging
import sys
import time
from collections import Counter

from . import DATASETS, DatasetError, open_dataset


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m covid_triage.datasets", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("specs", nargs="+", metavar="NAME=PATH", help=f"NAME one of: {', '.join(DATASETS)}")
    ap.add_argument("--load", action="store_true", help="also load every study (slow: reads all pixels)")
    a = ap.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(message)s")
    failed = 0
    for spec in a.specs:
        name, sep, path = spec.partition("=")
        if not sep:
            ap.error(f"expected NAME=PATH, got {spec!r}")
        listing = open_dataset(name, path)
        print(listing.summary())
        for reason, count in Counter(s.error for s in listing.skipped).items():
            print(f"  skipped ({reason}): {count}")
        if not a.load:
            continue
        errors: Counter = Counter()
        start = time.monotonic()
        for ref in listing:
            try:
                study = ref.load()
            except DatasetError as exc:
                errors[type(exc).__name__] += 1
                print(f"  {ref.id}: {exc}")
                continue
            print(f"  {ref.id}: {study.hu.shape} spacing {tuple(round(s, 3) for s in study.spacing)}"
                  + (f" (windowed {study.hu_window})" if study.hu_window else ""))
        failed += sum(errors.values())
        print(f"  loaded {len(listing) - sum(errors.values())}/{len(listing)} in {time.monotonic() - start:.0f} s"
              + "".join(f"; {k}: {v}" for k, v in errors.items()))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
