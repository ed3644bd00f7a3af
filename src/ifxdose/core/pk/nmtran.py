"""NM-TRAN data sets: parse the text of a NONMEM-style CSV into one :class:`Records` per subject.

Recognised items (case-insensitive headers): ``ID TIME DV MDV EVID AMT RATE CMT SS II ADDL``,
``LLOQ`` and ``BLQ`` (or ``CENS``) for below-quantification results (M3), ``OCC`` for
occasions; every other column is a per-record covariate. Conventions (NONMEM Users Guide
VI, PREDPP; VIII, help entries of each item):

- ``.`` or an empty field is NONMEM's "missing" and reads as 0 for the PREDPP items; a
  covariate the model uses must be present on every record (an error names the row).
- No EVID column: a record with AMT > 0 is a dose (EVID 1), else an observation (EVID 0)
  unless MDV = 1 (EVID 2). No MDV column: MDV = 1 for every record that is not EVID 0.
- ``RATE``: 0 bolus; > 0 zero-order rate (duration AMT*F/RATE); -1 the rate is the model's
  ``R<cmt>``; -2 the duration is the model's ``D<cmt>``.
- ``SS`` 1 resets to steady state of the dose every ``II`` (then the dose), 2 adds it;
  ``ADDL`` more doses every ``II`` after the record.
- ``BLQ``/``CENS`` = 1 marks a result below the LLOQ, taken from ``LLOQ`` or, without that
  column, from DV (NONMEM's M3 convention stores the LLOQ in DV).
- **Covariate timing** (NONMEM's rule, the default and only rule for these files): a
  record's covariate values apply over the interval that *ends* at that record (the next
  record's value is carried backward); see :mod:`ifxdose.core.pk.general`.
- Records must be in time order within a subject (NONMEM requires it for PREDPP); a
  subject's records must be contiguous. Rows are numbered from 1 for the first data row
  (the header is row 0) in every message.
"""

from __future__ import annotations

import csv
import io

import numpy as np

from ifxdose.core.errors import InputError
from ifxdose.core.pk.general import Records

ITEMS = ("ID", "TIME", "DV", "MDV", "EVID", "AMT", "RATE", "CMT", "SS", "II", "ADDL", "LLOQ", "BLQ", "CENS", "OCC")


def _num(text: str, row: int, col: str) -> float:
    t = text.strip()
    if t in ("", "."):
        return np.nan
    try:
        return float(t)
    except ValueError:
        raise InputError(f"row {row} column {col}", text, "a number (or '.' for missing) is required") from None


def read_nmtran(text: str) -> list[Records]:
    """Subjects in data order. InputError naming the row and column on bad input."""
    lines = [ln for ln in text.splitlines() if ln.strip() and not ln.lstrip().startswith(("#", "@"))]
    if not lines:
        raise InputError("data", "empty", "an NM-TRAN data set with a header row is required")
    reader = csv.reader(io.StringIO("\n".join(lines)))
    header = [h.strip().upper() for h in next(reader)]
    for need in ("ID", "TIME"):
        if need not in header:
            raise InputError("data header", ",".join(header), f"column {need} is required")
    dup = sorted({h for h in header if header.count(h) > 1})
    if dup:
        raise InputError("data header", dup[0], "column names must be unique")
    raw_header = [h.strip() for h in next(csv.reader(io.StringIO(lines[0])))]
    cols: dict[str, list[tuple[int, str]]] = {h: [] for h in header}
    for i, row in enumerate(reader, start=1):
        if len(row) != len(header):
            raise InputError(f"row {i}", len(row), f"{len(header)} fields as in the header are required")
        if "C" in cols and row[header.index("C")].strip() not in ("", ".", "0"):
            continue  # NONMEM's C column: a commented-out record
        for h, v in zip(header, row):
            cols[h].append((i, v))
    n = len(cols["ID"])
    if n == 0:
        raise InputError("data", "no records", "at least one data row is required")
    rows = np.array([r for r, _ in cols["ID"]])
    ids = [v.strip() for _, v in cols["ID"]]

    def item(name: str, default: float) -> np.ndarray:
        if name not in cols:
            return np.full(n, default)
        vals = np.array([_num(v, r, name) for r, v in cols[name]])
        return np.where(np.isnan(vals), default, vals)

    time = np.array([_num(v, r, "TIME") for r, v in cols["TIME"]])
    if np.any(np.isnan(time)):
        raise InputError(f"row {int(rows[np.isnan(time)][0])} column TIME", ".", "every record needs a TIME")
    amt, rate, cmt = item("AMT", 0.0), item("RATE", 0.0), item("CMT", 0.0)
    ss, ii, addl, dv = item("SS", 0.0), item("II", 0.0), item("ADDL", 0.0), item("DV", np.nan)
    if "EVID" in cols:
        evid = item("EVID", 0.0)
        mdv = item("MDV", np.nan)
        mdv = np.where(np.isnan(mdv), (evid != 0).astype(float), mdv)
    else:
        mdv = item("MDV", 0.0)
        evid = np.where(amt > 0, 1.0, np.where(mdv == 1, 2.0, 0.0))
        if "MDV" not in cols:
            mdv = (evid != 0).astype(float)
    blq = item("BLQ", 0.0) if "BLQ" in cols else item("CENS", 0.0)
    lloq = item("LLOQ", np.nan)

    def bad(mask: np.ndarray, col: str, allowed: str) -> None:
        if np.any(mask):
            j = int(np.nonzero(mask)[0][0])
            vals = {
                "EVID": evid,
                "AMT": amt,
                "RATE": rate,
                "CMT": cmt,
                "SS": ss,
                "II": ii,
                "ADDL": addl,
                "MDV": mdv,
                "BLQ": blq,
                "LLOQ": lloq,
                "DV": dv,
                "TIME": time,
            }[col]
            raise InputError(f"row {int(rows[j])} column {col}", float(vals[j]), allowed)

    dose = np.isin(evid, (1, 4))
    bad(
        ~np.isin(evid, (0, 1, 2, 3, 4)),
        "EVID",
        "allowed values are 0 (observation), 1 (dose), 2 (other), 3 (reset), 4 (reset and dose)",
    )
    bad(~np.isin(mdv, (0, 1)), "MDV", "allowed values are 0 or 1")
    bad((evid == 0) & (mdv == 0) & np.isnan(dv) & (blq == 0), "DV", "an observation (EVID 0, MDV 0) needs a DV")
    bad(dose & ~(amt >= 0), "AMT", "allowed range is [0, inf)")
    bad(dose & (amt == 0) & ~((ss > 0) & (rate > 0)), "AMT", "a dose record needs AMT > 0")
    bad(~((rate >= 0) | np.isin(rate, (-1, -2))), "RATE", "allowed values are 0, > 0, -1 (model R) or -2 (model D)")
    bad(
        (cmt < 0) | (cmt != np.round(cmt)),
        "CMT",
        "a compartment number >= 1 (negative CMT, compartment off, is not supported)",
    )
    bad(~np.isin(ss, (0, 1, 2)) | (ss > 0) & ~dose, "SS", "allowed values are 0, 1 or 2, on dose records")
    bad((ss > 0) & (amt == 0), "AMT", "a steady-state constant infusion (AMT 0, RATE > 0) is not supported")
    bad((ss > 0) & ~(ii > 0), "II", "a steady-state dose needs II > 0")
    bad((addl < 0) | (addl != np.round(addl)) | (addl > 0) & ~dose, "ADDL", "a whole number >= 0, on dose records")
    bad((addl > 0) & ~(ii > 0), "II", "ADDL > 0 needs II > 0")
    bad(ii < 0, "II", "allowed range is [0, inf)")
    bad(~np.isin(blq, (0, 1)), "BLQ" if "BLQ" in cols else "CENS", "allowed values are 0 or 1")
    cens = (blq == 1) & (evid == 0) & (mdv == 0)
    lloq = np.where(cens & np.isnan(lloq), dv, lloq)
    bad(cens & np.isnan(lloq), "LLOQ", "a below-LLOQ result needs the LLOQ (LLOQ column, or DV)")

    covariate_cols = [h for h in header if h not in ITEMS and h != "C"]
    name_of = {h: raw for h, raw in zip(header, raw_header)}
    cov_raw = {name_of[h]: [v for _, v in cols[h]] for h in covariate_cols}

    subjects: list[Records] = []
    order: list[str] = []
    starts = [0] + [j for j in range(1, n) if ids[j] != ids[j - 1]] + [n]
    for a, b in zip(starts[:-1], starts[1:]):
        sid = ids[a]
        if sid in order:
            raise InputError(f"row {int(rows[a])} column ID", sid, "a subject's records must be contiguous")
        order.append(sid)
        sl = slice(a, b)
        t = time[sl]
        back = np.nonzero(np.diff(t) < 0)[0]
        if back.size:
            raise InputError(
                f"row {int(rows[a + back[0] + 1])} column TIME",
                float(t[back[0] + 1]),
                f"times must not decrease within subject {sid} (previous {t[back[0]]:g})",
            )
        occ_raw = item("OCC", 1.0)[sl]
        _, occ = np.unique(occ_raw, return_inverse=True)
        covs = {}
        for name, vals in cov_raw.items():
            arr = np.full(b - a, np.nan)
            for j, v in enumerate(vals[a:b]):
                s = v.strip()
                if s in ("", "."):
                    continue
                try:
                    arr[j] = float(s)
                except ValueError:
                    arr[j] = np.nan  # non-numeric column: an error only if the model uses it
            covs[name] = arr
        subjects.append(
            Records(
                id=sid,
                time=t.copy(),
                evid=evid[sl].astype(int),
                amt=amt[sl],
                cmt=cmt[sl].astype(int),
                rate=rate[sl],
                ss=ss[sl].astype(int),
                ii=ii[sl],
                addl=addl[sl].astype(int),
                dv=dv[sl],
                mdv=mdv[sl].astype(int),
                lloq=lloq[sl],
                blq=cens[sl],
                occ=occ.astype(int),
                covariates=covs,
                rows=rows[sl],
            )
        )
    return subjects
