"""A writer process for the concurrency and crash tests: records alternating infusions and
levels for one patient and prints the id of each write once its commit has returned
("acknowledged"). The tests fork it from their own process (``write``: the store is already
imported there); ``python writer.py URL CODE TAG COUNT`` runs it alone (COUNT 0: until killed)."""

import sys
from datetime import date, timedelta
from typing import TextIO

from ifxdose.adapters.store import add_entry, open_store
from ifxdose.domain.patient import Infusion, Level


def write(url: str, code: str, tag: str, count: int, out: TextIO) -> None:
    """``count`` writes (0: until killed) on a store of its own, one line on ``out`` after each commit."""
    store = open_store(url, migrate=False)
    i = 0
    # Each writer on days of its own: one infusion per day is a write-time rule.
    base = 5000 * int("".join(ch for ch in tag if ch.isdigit()) or 0)
    while count == 0 or i < count:
        day = date(2000, 1, 1) + timedelta(days=1 + (base + i) % 36000)
        if i % 2:
            entry, kind = Level(date=day, value_mg_l=1.0 + i, assay=f"{tag}-{i}"), "levels"
        else:
            entry, kind = Infusion(date=day, dose_mg=100.0, lot=f"{tag}-{i}"), "infusions"
        row_id = add_entry(store, code, kind, entry, user=tag)
        print(f"{kind} {row_id} {tag}-{i}", file=out, flush=True)
        i += 1
    store.close()


if __name__ == "__main__":
    write(sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.stdout)
