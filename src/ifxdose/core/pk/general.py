"""The general model language: any compartmental PK model as data (TOML + safe equations).

A model file with ``language = "ifxdose-model/1"`` declares thetas, covariates (any name,
unit and range: BSA, SCR, AGE, a clinic's own), between-subject random effects (``ETA_*``,
any distribution written as an equation: log-normal ``exp(ETA)``, additive, logit, Box-Cox),
between-occasion effects (``KAPPA_*``, one draw per occasion), ``pk`` equations, the
compartments and their differential equations (``des``; or a built-in ``structure``), dose
modifiers per compartment in NONMEM's names (``F1`` bioavailability, ``ALAG1`` lag time,
``R1`` rate and ``D1`` duration for ``RATE = -1 / -2`` doses), and observed outputs with
their residual error (additive, proportional, combined, an ``sd`` equation; linear or log
scale). See docs/model-language.md for the grammar and an example of every feature.

Engines (chosen automatically per model): the ``des`` equations are tested for linearity in
the amounts at load time; a linear system is propagated exactly by the matrix exponential
of the augmented matrix ``[[K, r], [0, 0]]`` over every piece between events (any linear
structure: mammillary or not, parent + metabolite, several depots), with steady state
solved exactly; a non-linear one (Michaelis-Menten, TMDD) is integrated with ``solve_ivp``
(LSODA, rtol 1e-10, atol 1e-12), all random-effect vectors of a batch stacked into one
system, with steady state by repeated dosing cycles until the amounts converge.

Event semantics (NONMEM/PREDPP): the parameters used over (t_prev, t] are those of the
record at t (a record's covariates apply over the interval *ending* at it); records at one
time are processed in data order; additional (ADDL) and lagged doses that fall on a
record's time enter after that record (Assumption: an observation at that time is a trough,
as in ifxdose's time semantics) and use the dose record's F, D and R (Assumption).
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ifxdose.core.errors import InputError
from ifxdose.core.pk.expressions import Block, Statement, compile_block, compile_expression
from ifxdose.core.pk.model import PKModel, Value

LANGUAGE = "ifxdose-model/1"
#: Assumption (the NONMEM idiom ``IF (W.EQ.0) W = 1``): a residual SD of exactly 0 (e.g.
#: proportional-only error where the model predicts exactly 0) becomes 1 in the output's
#: units; an SD that is not finite or negative is an error of the model, reported as +inf OFV.
ZERO_SD_REPLACEMENT = 1.0
#: Assumption (numerical): log(prediction) uses max(prediction, this) on the log scale.
LOG_FLOOR = 1e-12
SS_MAX_CYCLES = 1000  #: non-linear steady state: at most this many dosing cycles
SS_RTOL = 1e-10  #: ... until the pre-dose amounts change by less than this (relative)
ODE_RTOL, ODE_ATOL = 1e-10, 1e-12

_STRUCTURES = {
    # name: (compartments, equations); depot variants put DEPOT first (NONMEM ADVAN2/4/12 numbering)
    "1cmt": (["CENTRAL"], ["dCENTRAL = -CL/V1*CENTRAL"]),
    "2cmt": (
        ["CENTRAL", "PERIPHERAL"],
        ["dCENTRAL = -CL/V1*CENTRAL - Q/V1*CENTRAL + Q/V2*PERIPHERAL", "dPERIPHERAL = Q/V1*CENTRAL - Q/V2*PERIPHERAL"],
    ),
    "3cmt": (
        ["CENTRAL", "PERIPHERAL", "PERIPHERAL2"],
        [
            "dCENTRAL = -CL/V1*CENTRAL - Q/V1*CENTRAL + Q/V2*PERIPHERAL - Q3/V1*CENTRAL + Q3/V3*PERIPHERAL2",
            "dPERIPHERAL = Q/V1*CENTRAL - Q/V2*PERIPHERAL",
            "dPERIPHERAL2 = Q3/V1*CENTRAL - Q3/V3*PERIPHERAL2",
        ],
    ),
}


@dataclass(frozen=True)
class CovariateSpec:
    name: str
    unit: str
    low: float
    high: float
    reference: float | None = None
    binary: bool = False
    description: str = ""

    def check(self, values: np.ndarray, where: str = "", rows: np.ndarray | None = None) -> np.ndarray:
        arr = np.asarray(values, float)
        bad = ~np.isin(arr, (0.0, 1.0)) if self.binary else ~np.isfinite(arr) | (arr < self.low) | (arr > self.high)
        if np.any(bad):
            allowed = (
                "allowed values are 0 or 1"
                if self.binary
                else f"allowed range is [{self.low:g}, {self.high:g}] {self.unit}".rstrip()
            )
            i = int(np.nonzero(np.ravel(bad))[0][0])
            at = f"row {int(rows[i])} " if rows is not None else where
            raise InputError(f"{at}{self.name}", float(arr.flat[i]), allowed)
        return arr


@dataclass(frozen=True)
class Output:
    """An observed quantity: which dataset CMT selects it, its prediction and residual error."""

    name: str
    cmt: int
    prediction: Statement
    additive: float = 0.0
    proportional: float = 0.0
    sd: Statement | None = None
    scale: str = "linear"  # or "log": data are ln(concentration), error additive on that scale
    unit: str = "mg/L"


@dataclass(frozen=True)
class GeneralModel:
    name: str
    title: str
    citation: str
    population: str
    thetas: dict[str, Value]
    covariate_specs: dict[str, CovariateSpec]
    eta_names: tuple[str, ...]
    omega_bsv: np.ndarray
    kappa_names: tuple[str, ...]
    omega_bov: np.ndarray
    pk: Block
    compartments: tuple[str, ...]
    des: Block
    outputs: tuple[Output, ...]
    default_dose_cmt: int = 1
    linear: bool = True
    version: str = "1"
    notes: tuple[str, ...] = ()
    assumptions: tuple[str, ...] = ()
    source_text: str = field(default="", repr=False)

    # --- the attributes estimation reads (same names as PKModel) ---
    @property
    def eta_parameters(self) -> tuple[str, ...]:
        return self.eta_names

    @property
    def omega(self) -> np.ndarray:
        return self.omega_bsv

    @property
    def covariates(self) -> tuple[str, ...]:
        return tuple(self.covariate_specs)

    @property
    def is_linear(self) -> bool:
        return self.linear

    @property
    def engine(self) -> str:
        return "matrix-exponential (exact, linear)" if self.linear else "ODE (LSODA)"

    def sample_eta(self, n: int, rng: np.random.Generator) -> np.ndarray:
        k = len(self.eta_names)
        return (
            np.zeros((n, 0))
            if k == 0
            else rng.multivariate_normal(np.zeros(k), self.omega_bsv, size=n, method="cholesky")
        )

    def modifier(self, kind: str, cmt: int) -> str:
        """NONMEM name of a dose modifier: F1, ALAG1, R1, D1 (cmt 1-based)."""
        return f"{kind}{cmt}"

    def reference_covariates(self) -> dict[str, float]:
        return {
            k: (c.reference if c.reference is not None else (0.0 if c.binary else 0.5 * (c.low + c.high)))
            for k, c in self.covariate_specs.items()
        }

    def pk_values(
        self,
        covariates: dict[str, np.ndarray],
        eta: np.ndarray,
        kappa: np.ndarray | None = None,
        time_days: np.ndarray | None = None,
    ) -> dict[str, np.ndarray]:
        """Every pk variable for etas (N, k) and records (R,): name -> (N, R)."""
        eta = np.atleast_2d(np.asarray(eta, float))
        N = eta.shape[0]
        R = len(next(iter(covariates.values()))) if covariates else (1 if time_days is None else len(time_days))
        ns: dict[str, object] = {k: v.value for k, v in self.thetas.items()}
        for name in self.covariate_specs:
            ns[name] = np.asarray(covariates[name], float)[None, :]
        for i, name in enumerate(self.eta_names):
            ns[name] = eta[:, i : i + 1]
        for i, name in enumerate(self.kappa_names):
            ns[name] = np.zeros((1, 1)) if kappa is None else kappa[..., i]
        ns["TIME"] = np.zeros((1, R)) if time_days is None else np.asarray(time_days, float)[None, :]
        out = self.pk.run(ns)
        return {k: np.broadcast_to(np.asarray(out[k], float), (N, R)) for k in self.pk.targets}


# ------------------------------------------------------------------------------ loading
def _value(name: str, v: Any) -> Value:
    if isinstance(v, (int, float)):
        return Value(float(v))
    if not isinstance(v, dict) or "value" not in v:
        raise InputError(f"theta.{name}", v, "a number or a table with 'value' (and unit, grade, source)")
    return Value(float(v["value"]), str(v.get("unit", "")), str(v.get("grade", "P")), str(v.get("source", "")))


def _omega(section: dict[str, Any], key: str, names: tuple[str, ...]) -> np.ndarray:
    k = len(names)
    if k == 0:
        return np.zeros((0, 0))
    raw = section.get("omega")
    if raw is None:
        raise InputError(f"{key}.omega", None, f"a {k}x{k} covariance matrix for {', '.join(names)} is required")
    om = np.array(raw, dtype=float)
    if om.ndim == 1 and om.size == k:
        om = np.diag(om)
    if om.shape != (k, k):
        raise InputError(
            f"{key}.omega", om.shape, f"a {k}x{k} matrix (or a list of {k} variances) for {', '.join(names)}"
        )
    if not np.allclose(om, om.T) or np.linalg.eigvalsh(om).min() <= 0:
        raise InputError(f"{key}.omega", om.tolist(), "must be symmetric positive definite")
    return om


def parse_general_model(doc: dict[str, Any], name: str, text: str = "") -> GeneralModel:
    """Build a GeneralModel from a parsed TOML document (``language = "ifxdose-model/1"``)."""
    if doc.get("language") != LANGUAGE:
        raise InputError("language", doc.get("language"), f"expected {LANGUAGE!r}")
    for key in ("title", "pk", "des", "compartments", "structure", "depot", "dose_compartment"):
        inside = [t for t, v in doc.items() if isinstance(v, dict) and key in v]
        if key not in doc and inside:
            raise InputError(
                key,
                f"[{inside[0]}]",
                f"model {name}: top-level keys such as '{key}' must come before the first [table]",
            )
    for key in ("title", "pk"):
        if key not in doc:
            raise InputError(key, None, f"model {name}: '{key}' is required")
    thetas = {k: _value(k, v) for k, v in doc.get("theta", {}).items()}
    covs = {}
    for k, c in doc.get("covariates", {}).items():
        binary = bool(c.get("binary", False))
        covs[k] = CovariateSpec(
            k,
            str(c.get("unit", "")),
            float(c.get("low", 0.0)),
            float(c.get("high", 1.0 if binary else np.inf)),
            None if c.get("reference") is None else float(c["reference"]),
            binary,
            str(c.get("description", "")),
        )
    re_ = doc.get("random_effects", {})
    etas = tuple(re_.get("names", ()))
    bov = doc.get("occasion_effects", {})
    kappas = tuple(bov.get("names", ()))
    for n_ in etas + kappas:
        if not n_.isidentifier():
            raise InputError("random_effects.names", n_, "names are identifiers such as ETA_CL")
    names = list(thetas) + list(covs) + list(etas) + list(kappas) + ["TIME"]
    dup = sorted({x for x in names if names.count(x) > 1})
    if dup:
        raise InputError("model", dup[0], "each theta, covariate and random-effect name must be unique")
    pk = compile_block(doc["pk"], set(names), "pk", reserved=set(names))
    known = set(names) | set(pk.targets)
    if "des" in doc:
        comps = tuple(doc.get("compartments", ()))
        if not comps:
            raise InputError("compartments", None, "a 'des' block needs the list of compartments")
        des_text = doc["des"]
    else:
        structure = doc.get("structure")
        if structure not in _STRUCTURES:
            raise InputError("structure", structure, f"one of {', '.join(_STRUCTURES)}, or compartments + des")
        comps_l, eqs = _STRUCTURES[structure]
        comps_l, eqs = list(comps_l), list(eqs)
        if doc.get("depot", False):
            comps_l.insert(0, "DEPOT")
            eqs = ["dDEPOT = -KA*DEPOT", eqs[0] + " + KA*DEPOT"] + eqs[1:]
        comps, des_text = tuple(comps_l), "\n".join(eqs)
    clash = set(comps) & known
    if clash:
        raise InputError("compartments", sorted(clash)[0], "a compartment name must differ from every other name")
    des = compile_block(des_text, known | set(comps), "des", reserved=known | set(comps))
    expected = {f"d{c}" for c in comps}
    if not expected <= set(des.targets) or set(des.targets) & {f"d{c}" for c in known}:
        raise InputError(
            "des",
            ", ".join(des.targets),
            f"one equation per compartment: {', '.join(sorted(expected))} (other assignments are intermediate values)",
        )
    outputs = []
    for i, o in enumerate(
        doc.get(
            "outputs",
            [{"name": "conc", "prediction": f"{comps[1 if doc.get('depot') and 'des' not in doc else 0]}/V1"}],
        )
    ):
        where = f"outputs[{i}]"
        pred = compile_expression(o["prediction"], known | set(comps), f"{where}.prediction")
        sd = compile_expression(o["sd"], known | set(comps) | {"IPRED"}, f"{where}.sd") if "sd" in o else None
        scale = o.get("scale", "linear")
        if scale not in ("linear", "log"):
            raise InputError(f"{where}.scale", scale, "allowed values are 'linear' or 'log'")
        cmt = int(o.get("cmt", 0))
        outputs.append(
            Output(
                str(o.get("name", f"y{i + 1}")),
                cmt,
                pred,
                float(o.get("additive", 0.0)),
                float(o.get("proportional", 0.0)),
                sd,
                scale,
                str(o.get("unit", "mg/L")),
            )
        )
        if sd is None and outputs[-1].additive <= 0 and outputs[-1].proportional <= 0:
            raise InputError(
                f"{where}", o.get("name"), "give additive and/or proportional residual SD, or an 'sd' equation"
            )
    dose_cmt = int(doc.get("dose_compartment", 1))
    if not 1 <= dose_cmt <= len(comps):
        raise InputError("dose_compartment", dose_cmt, f"a compartment number 1..{len(comps)}")
    model = GeneralModel(
        name=name,
        title=str(doc["title"]),
        citation=str(doc.get("citation", "")),
        population=str(doc.get("population", "")),
        thetas=thetas,
        covariate_specs=covs,
        eta_names=etas,
        omega_bsv=_omega(re_, "random_effects", etas),
        kappa_names=kappas,
        omega_bov=_omega(bov, "occasion_effects", kappas),
        pk=pk,
        compartments=comps,
        des=des,
        outputs=tuple(outputs),
        default_dose_cmt=dose_cmt,
        version=str(doc.get("version", "1")),
        notes=tuple(doc.get("notes", ())),
        assumptions=tuple(doc.get("assumptions", ())),
        source_text=text,
    )
    return _with_linearity(model)


def load_general_text(text: str, name: str) -> GeneralModel:
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InputError("model", name, f"not valid TOML ({exc})") from None
    return parse_general_model(doc, name, text)


def _rhs(model: GeneralModel, params: dict[str, np.ndarray], amounts: np.ndarray) -> np.ndarray:
    """d(amounts)/dt (..., n) for amounts (..., n) and parameters broadcasting with (...)."""
    ns = dict(params)
    ns.update({c: amounts[..., j] for j, c in enumerate(model.compartments)})
    out = model.des.run(ns)
    return np.stack([np.broadcast_to(out[f"d{c}"], amounts.shape[:-1]) for c in model.compartments], axis=-1)


def _with_linearity(model: GeneralModel) -> GeneralModel:
    """Linear iff rhs(a x + b y) = a rhs(x) + b rhs(y) and rhs(0) = 0 at typical parameters, random states.

    Assumption: linearity at the typical parameters (all etas 0, reference covariates) is
    structural, i.e. holds for every parameter value.
    """
    refs = model.reference_covariates()
    p = model.pk_values(
        {k: np.array([v]) for k, v in refs.items()}, np.zeros((1, len(model.eta_names))), None, np.zeros(1)
    )
    p = {k: v[:, 0] for k, v in p.items()}
    n = len(model.compartments)
    rng = np.random.default_rng(7)
    x, y = rng.uniform(0.5, 50, (2, 1, n))
    with np.errstate(all="ignore"):
        f0, fx, fy, fxy = (_rhs(model, p, s) for s in (np.zeros((1, n)), x, y, 1.7 * x + 0.3 * y))
    scale = np.abs(fx).max() + np.abs(fy).max() + 1e-300
    linear = bool(
        np.all(np.isfinite(fxy))
        and np.abs(f0).max() <= 1e-12 * scale
        and np.abs(fxy - 1.7 * fx - 0.3 * fy).max() <= 1e-9 * scale
    )
    return GeneralModel(**{**model.__dict__, "linear": linear})


# --------------------------------------------------------------------- from the library
def from_pkmodel(pk: PKModel) -> GeneralModel:
    """Translate a closed-set library model into the general language (linear structures only)."""
    if not pk.is_linear:
        raise InputError("model", pk.name, "only linear library models translate to the general language")
    from ifxdose.core.pk.covariates import COVARIATES

    thetas = {
        f"TV_{k}": {"value": v.value, "unit": v.unit, "grade": v.grade, "source": v.source}
        for k, v in pk.parameters.items()
    }
    covs, lines = {}, []
    for c in pk.covariates:
        spec = COVARIATES[c]
        try:
            ref = pk.default_covariate(c)
        except InputError:
            ref = None
        covs[c] = {
            "unit": spec.unit,
            "low": spec.low,
            "high": spec.high,
            "binary": spec.binary,
            "description": spec.description,
        }
        if ref is not None:
            covs[c]["reference"] = ref
    for k in pk.parameters:
        terms = [f"TV_{k}"]
        for j, e in enumerate(e for e in pk.covariate_effects if e.parameter == k):
            th = f"COV_{k}_{e.covariate}_{j}"
            thetas[th] = {"value": e.theta, "grade": e.grade, "source": e.source}
            x = e.covariate
            terms.append(
                {
                    "power": f"({x}/{e.reference!r})**{th}",
                    "exponential": f"exp({th}*({x}-{e.reference!r}))",
                    "linear": f"(1+{th}*({x}-{e.reference!r}))",
                    "factor": f"{th}**{x}",
                }[e.form]
            )
        if k in pk.eta_parameters:
            terms.append(f"exp(ETA_{k})")
        lines.append(f"{k} = " + "*".join(terms))
    if "F" in pk.parameters:
        lines.append("F1 = F")
    doc = {
        "language": LANGUAGE,
        "title": pk.title,
        "citation": pk.citation,
        "population": pk.population,
        "version": pk.version,
        "structure": pk.structure,
        "depot": pk.has_depot,
        "theta": thetas,
        "covariates": covs,
        "random_effects": {"names": [f"ETA_{k}" for k in pk.eta_parameters], "omega": pk.omega.tolist()},
        "pk": "\n".join(lines),
        "dose_compartment": 2 if pk.has_depot else 1,
        "outputs": [
            {
                "name": "conc",
                "cmt": 0,
                "prediction": "CENTRAL/V1",
                "additive": pk.residual_additive_mg_l,
                "proportional": pk.residual_proportional,
            }
        ],
        "notes": list(pk.notes),
        "assumptions": list(pk.assumptions),
    }
    return parse_general_model(doc, pk.name)


# ------------------------------------------------------------------------------ engine
def expm_batch(A: np.ndarray) -> np.ndarray:
    """exp(A) for a batch (..., n, n): Padé 13 with scaling and squaring (Higham 2005, SIAM J
    Matrix Anal Appl 26:1179), vectorised over the batch (scipy's expm loops in Python)."""
    b = (
        64764752532480000.0,
        32382376266240000.0,
        7771770303897600.0,
        1187353796428800.0,
        129060195264000.0,
        10559470521600.0,
        670442572800.0,
        33522128640.0,
        1323241920.0,
        40840800.0,
        960960.0,
        16380.0,
        182.0,
        1.0,
    )
    A = np.asarray(A, float)
    n = A.shape[-1]
    norm = float(np.abs(A).sum(-2).max()) if A.size else 0.0
    s = max(0, int(np.ceil(np.log2(norm / 5.371920351148152)))) if norm > 0 else 0
    A = A / 2.0**s
    Id = np.broadcast_to(np.eye(n), A.shape)
    A2 = A @ A
    A4 = A2 @ A2
    A6 = A4 @ A2
    U = A @ (A6 @ (b[13] * A6 + b[11] * A4 + b[9] * A2) + b[7] * A6 + b[5] * A4 + b[3] * A2 + b[1] * Id)
    V = A6 @ (b[12] * A6 + b[10] * A4 + b[8] * A2) + b[6] * A6 + b[4] * A4 + b[2] * A2 + b[0] * Id
    E = np.linalg.solve(V - U, V + U)
    for _ in range(s):
        E = E @ E
    return E


@dataclass(frozen=True)
class Records:
    """One subject's event records, in time order (NM-TRAN items; see core/pk/nmtran.py)."""

    id: str
    time: np.ndarray
    evid: np.ndarray
    amt: np.ndarray
    cmt: np.ndarray  # 1-based; 0 = the model's default
    rate: np.ndarray
    ss: np.ndarray
    ii: np.ndarray
    addl: np.ndarray
    dv: np.ndarray
    mdv: np.ndarray
    lloq: np.ndarray  # NaN = none
    blq: np.ndarray  # bool: the DV is a below-LLOQ result (M3)
    occ: np.ndarray  # occasion index 0..O-1
    covariates: dict[str, np.ndarray]
    rows: np.ndarray  # source row numbers (for messages)

    @property
    def observation_index(self) -> np.ndarray:
        return np.nonzero((self.evid == 0) & (self.mdv == 0))[0]

    @property
    def n_occasions(self) -> int:
        return int(self.occ.max()) + 1 if self.occ.size else 1


@dataclass
class _Entry:
    """A dose entering a compartment: bolus (duration 0) or zero-order infusion."""

    cmt: int
    time: np.ndarray  # (N,)
    amount: np.ndarray  # (N,)
    duration: np.ndarray  # (N,)
    key_record: int  # the record it belongs to (entries at its own time follow it)


class Engine:
    """Predict amounts at a subject's observation records for batches of random effects."""

    def __init__(self, model: GeneralModel, rec: Records, engine: str = "auto") -> None:
        if engine not in ("auto", "exact", "ode"):
            raise InputError("engine", engine, "allowed values are auto, exact, ode")
        if engine == "exact" and not model.linear:
            raise InputError("engine", engine, f"model {model.name} is non-linear: use 'ode' or 'auto'")
        self.use_ode = engine == "ode" or not model.linear
        self.model, self.rec = model, rec
        self.n = len(model.compartments)
        covs = {}
        self.assumed: list[str] = []  # covariates absent from the data, taken at their reference
        for k, spec in model.covariate_specs.items():
            if k not in rec.covariates:
                if spec.reference is None:
                    raise InputError(
                        f"subject {rec.id}",
                        k,
                        f"the data set has no column {k!r}, which the model uses "
                        "(and the model gives it no reference value)",
                    )
                self.assumed.append(
                    f"covariate {k} is not in the data: the model's reference {spec.reference:g} is used"
                )
                covs[k] = np.full(rec.time.size, spec.reference)
                continue
            covs[k] = spec.check(rec.covariates[k], f"subject {rec.id} ", rec.rows)
        self.covs = covs
        bad = (rec.cmt < 0) | (rec.cmt > self.n)
        if np.any(bad):
            r = int(np.nonzero(bad)[0][0])
            raise InputError(
                f"row {rec.rows[r]} CMT",
                int(rec.cmt[r]),
                f"compartment numbers are 1..{self.n} ({', '.join(model.compartments)})",
            )

    # parameters ---------------------------------------------------------------
    def pk(self, eta: np.ndarray, kappa: np.ndarray | None) -> dict[str, np.ndarray]:
        """pk variables (N, R); kappa (N, O, m) is mapped to records by occasion."""
        kap = None if kappa is None or kappa.shape[-1] == 0 else kappa[:, self.rec.occ, :]
        return self.model.pk_values(self.covs, eta, kap, self.rec.time)

    def _mod(
        self, p: dict[str, np.ndarray], kind: str, cmt: int, r: int | np.integer[Any], default: float
    ) -> np.ndarray:
        name = self.model.modifier(kind, cmt)
        N = next(iter(p.values())).shape[0] if p else 1
        return p[name][:, r] if name in p else np.full(N, default)

    def _dose_entries(self, p: dict[str, np.ndarray], N: int) -> list[_Entry]:
        rec, out = self.rec, []
        for r in np.nonzero((rec.evid == 1) | (rec.evid == 4))[0]:
            cmt = int(rec.cmt[r]) or self.model.default_dose_cmt
            f = self._mod(p, "F", cmt, r, 1.0)
            lag = self._mod(p, "ALAG", cmt, r, 0.0)
            amount = rec.amt[r] * f
            rate = rec.rate[r]
            if rate == -1:
                rr = self._mod(p, "R", cmt, r, np.nan)
                if np.any(np.isnan(rr)):
                    raise InputError(f"row {rec.rows[r]} RATE", -1, f"RATE = -1 needs R{cmt} defined in pk")
                dur = amount / rr
            elif rate == -2:
                dur = self._mod(p, "D", cmt, r, np.nan)
                if np.any(np.isnan(dur)):
                    raise InputError(f"row {rec.rows[r]} RATE", -2, f"RATE = -2 needs D{cmt} defined in pk")
            elif rate > 0:
                dur = amount / rate
            else:
                dur = np.zeros(N)
            dur = np.broadcast_to(dur, (N,)).astype(float)
            if np.any(~np.isfinite(dur) | (dur < 0)) or np.any(~np.isfinite(lag) | (lag < 0)):
                raise InputError(f"row {rec.rows[r]}", "dose", "infusion duration and lag time must be finite and >= 0")
            n_add = int(rec.addl[r]) if rec.ii[r] > 0 else 0
            for k in range(n_add + 1):
                out.append(
                    _Entry(
                        cmt - 1,
                        rec.time[r] + k * rec.ii[r] + lag,
                        np.broadcast_to(amount, (N,)).astype(float),
                        dur,
                        int(r),
                    )
                )
        return out

    # propagation ---------------------------------------------------------------
    def _K(self, p_rec: dict[str, np.ndarray]) -> np.ndarray:
        """Rate matrices (N, n, n) from the (linear) des at one record's parameters."""
        n = self.n
        N = next(iter(p_rec.values())).shape[0]
        basis = np.concatenate([np.zeros((1, n)), np.eye(n)])[:, None, :]  # (n+1, 1, n)
        with np.errstate(all="ignore"):
            f = _rhs(self.model, {k: v[None, :] for k, v in p_rec.items()}, np.broadcast_to(basis, (n + 1, N, n)))
        return np.transpose(f[1:] - f[0:1], (1, 2, 0))  # K[:, i, j] = d(dA_i)/dA_j

    def _advance(
        self,
        A: np.ndarray,
        rate: np.ndarray,
        h: float,
        p_rec: dict[str, np.ndarray],
        K: np.ndarray | None,
        cache: dict[tuple[int, float, bytes], np.ndarray] | None = None,
    ) -> np.ndarray:
        if h <= 0 or (not np.any(A) and not np.any(rate)):
            return A
        if K is not None:
            N, n = A.shape
            key = (id(K), h, rate.tobytes())
            E = None if cache is None else cache.get(key)
            if E is None:
                M = np.zeros((N, n + 1, n + 1))
                M[:, :n, :n] = K * h
                M[:, :n, n] = rate * h
                E = expm_batch(M)
                if cache is not None:
                    cache[key] = E
            out: np.ndarray = np.einsum("nij,nj->ni", E[:, :n, :n], A) + E[:, :n, n]
            return out
        N, n = A.shape

        def f(_t: float, y: np.ndarray) -> np.ndarray:
            dy: np.ndarray = (_rhs(self.model, p_rec, y.reshape(N, n)) + rate).ravel()
            return dy

        from scipy.integrate import solve_ivp  # imported when a model needs the ODE solver (start-up time)

        sol = solve_ivp(f, (0.0, h), A.ravel(), method="LSODA", rtol=ODE_RTOL, atol=ODE_ATOL)
        if not sol.success:
            raise RuntimeError(f"ODE integration failed for subject {self.rec.id}: {sol.message}")
        end: np.ndarray = sol.y[:, -1].reshape(N, n)
        return end

    def _steady_state(
        self, e: _Entry, r: int, ii: float, p_rec: dict[str, np.ndarray], K: np.ndarray | None
    ) -> np.ndarray:
        """Amounts at the SS dose record's time for an infinite train of entry ``e`` every ``ii``."""
        N, n = e.amount.shape[0], self.n
        lag = e.time - self.rec.time[r]
        if np.any(e.duration > ii) or np.any(lag >= ii) or np.any((lag > 0) & (e.duration > 0)):
            raise InputError(
                f"row {self.rec.rows[r]} SS",
                int(self.rec.ss[r]),
                "steady state needs infusion duration <= II and lag < II (and no lag with an infusion)",
            )
        d = np.zeros((N, n))
        d[:, e.cmt] = np.where(e.duration > 0, 0.0, e.amount)
        rate = np.zeros((N, n))
        rate[:, e.cmt] = np.where(e.duration > 0, e.amount / np.where(e.duration > 0, e.duration, 1.0), 0.0)

        def cycle(A0: np.ndarray) -> np.ndarray:  # one interval starting at the entry, state just before the next entry
            A = A0 + d
            if np.any(e.duration > 0):
                dur = float(e.duration.max())
                if not np.allclose(e.duration, dur):
                    raise InputError(
                        f"row {self.rec.rows[r]} SS",
                        int(self.rec.ss[r]),
                        "steady state with a duration that varies between random-effect vectors is not supported",
                    )
                A = self._advance(A, rate, dur, p_rec, K)
                return self._advance(A, np.zeros_like(rate), ii - dur, p_rec, K)
            return self._advance(A, rate * 0, ii, p_rec, K)

        if K is not None:  # exact: y = Phi y + b  ->  y = (I - Phi)^-1 b
            b = cycle(np.zeros((N, n)))
            Phi = expm_batch(K * ii)
            y = np.linalg.solve(np.eye(n) - Phi, b[..., None])[..., 0]
        else:
            y = np.zeros((N, n))
            for _ in range(SS_MAX_CYCLES):
                y_new = cycle(y)
                if np.all(np.abs(y_new - y) <= SS_RTOL * np.maximum(np.abs(y_new), 1e-300) + 1e-14):
                    y = y_new
                    break
                y = y_new
            else:
                raise InputError(
                    f"row {self.rec.rows[r]} SS",
                    int(self.rec.ss[r]),
                    f"steady state not reached in {SS_MAX_CYCLES} cycles",
                )
        if np.any(lag > 0):  # state at the record time = II - lag after the previous entry
            y = self._advance_each(y + d, ii - lag, p_rec, K)
        return y

    def _advance_each(
        self, A: np.ndarray, h: np.ndarray, p_rec: dict[str, np.ndarray], K: np.ndarray | None
    ) -> np.ndarray:
        out = np.empty_like(A)
        for hv in np.unique(h):
            m = h == hv
            out[m] = self._advance(
                A[m], np.zeros_like(A[m]), float(hv), {k: v[m] for k, v in p_rec.items()}, None if K is None else K[m]
            )
        return out

    def amounts(self, eta: np.ndarray, kappa: np.ndarray | None = None) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """Amounts (N, n_obs, n_cmt) at the observation records, and the pk variables (N, R)."""
        rec, n = self.rec, self.n
        eta = np.atleast_2d(np.asarray(eta, float))
        N = eta.shape[0]
        p = self.pk(eta, kappa)
        bad = [k for k, v in p.items() if not np.all(np.isfinite(v))]
        R = rec.time.size
        obs_idx = rec.observation_index
        out = np.full((N, obs_idx.size, n), np.nan)
        if bad and any(k in self.model.des.reads() or k[:1] in "FADR" for k in bad):
            return out, p
        entries = self._dose_entries(p, N)
        # actions: ("rec", r) at record times; ("in", i) entries; ("end", i) infusion ends
        times = [rec.time[r] for r in range(R)]
        acts: list[tuple[str, int, np.ndarray]] = [("rec", r, np.full(N, rec.time[r])) for r in range(R)]
        for i, e in enumerate(entries):
            acts.append(("in", i, e.time))
            if np.any(e.duration > 0):
                acts.append(("end", i, np.where(e.duration > 0, e.time + e.duration, np.inf)))
        all_t = np.unique(np.concatenate([a[2] for a in acts] + [np.asarray(times)]))
        all_t = all_t[np.isfinite(all_t)]
        last_obs_t = rec.time[obs_idx].max() if obs_idx.size else -np.inf
        all_t = all_t[all_t <= last_obs_t]
        groups: dict[int, list[tuple[tuple[int, int], str, int, np.ndarray]]] = {}
        everyone = np.ones(N, dtype=bool)
        for a in acts:
            t0 = a[2][0]
            if np.all(a[2] == t0):  # the same time for every eta (no random effect on lag or duration)
                u0 = int(np.searchsorted(all_t, t0)) if np.isfinite(t0) else all_t.size
                pairs = [(u0, everyone)] if u0 < all_t.size and all_t[u0] == t0 else []
            else:
                idx = np.searchsorted(all_t, a[2])
                ok = (idx < all_t.size) & (all_t[np.minimum(idx, all_t.size - 1)] == a[2])
                pairs = [(u, ok & (idx == u)) for u in np.unique(idx[ok])]
            for u, mask in pairs:
                if a[0] == "rec":
                    key = (a[1], 0)
                elif a[0] == "in" and all_t[u] == rec.time[entries[a[1]].key_record]:
                    key = (entries[a[1]].key_record, 1)
                else:
                    key = (R, 0)  # lagged / additional doses and infusion ends: after the records at that time
                groups.setdefault(int(u), []).append((key, a[0], a[1], mask))
        K_cache: dict[int, np.ndarray | None] = {}
        # records whose parameters equal the previous record's share its rate matrix
        same = np.ones(max(R - 1, 0), dtype=bool)
        for v in p.values():
            same &= np.all(v[:, 1:] == v[:, :-1], axis=0)
        canonical = np.zeros(R, dtype=int)
        for r in range(1, R):
            canonical[r] = canonical[r - 1] if same[r - 1] else r

        def K_at(r: int) -> np.ndarray | None:
            if self.use_ode:
                return None
            r = int(canonical[r])
            if r not in K_cache:
                K_cache[r] = self._K({k: v[:, r] for k, v in p.items()})
            return K_cache[r]

        A = np.zeros((N, n))
        rate = np.zeros((N, n))
        expm_cache: dict[
            tuple[int, float, bytes], np.ndarray
        ] = {}  # (rate matrices, step, input rates) -> propagator, within this call
        t_prev = all_t[0] if all_t.size else 0.0
        obs_pos = {int(r): j for j, r in enumerate(obs_idx)}
        for u, t in enumerate(all_t):
            r_next = min(int(np.searchsorted(rec.time, t, side="left")), R - 1)
            p_rec = {k: v[:, r_next] for k, v in p.items()} if self.use_ode else {}
            A = self._advance(A, rate, t - t_prev, p_rec, K_at(r_next), expm_cache)
            t_prev = t
            for _key, kind, i, mask in sorted(groups.get(u, []), key=lambda g: g[0]):
                if kind == "rec":
                    ev = rec.evid[i]
                    if ev in (3, 4):
                        A[mask], rate[mask] = 0.0, 0.0
                    if ev in (1, 4) and rec.ss[i] in (1, 2):
                        if rec.ss[i] == 1:
                            A[mask], rate[mask] = 0.0, 0.0
                        e = next(x for x in entries if x.key_record == i)
                        pr = {k: v[:, i] for k, v in p.items()}
                        if rec.ii[i] <= 0:
                            raise InputError(
                                f"row {rec.rows[i]} II", float(rec.ii[i]), "a steady-state dose needs II > 0"
                            )
                        A = A + np.where(mask[:, None], self._steady_state(e, i, float(rec.ii[i]), pr, K_at(i)), 0.0)
                    if i in obs_pos:
                        out[mask, obs_pos[i], :] = A[mask]
                elif kind == "in":
                    e = entries[i]
                    inf = mask & (e.duration > 0)
                    bol = mask & ~(e.duration > 0)
                    A[bol, e.cmt] += e.amount[bol]
                    rate[inf, e.cmt] += e.amount[inf] / e.duration[inf]
                else:
                    e = entries[i]
                    rate[mask, e.cmt] -= e.amount[mask] / e.duration[mask]
                    rate[mask & (np.abs(rate[:, e.cmt]) < 1e-12), e.cmt] = 0.0
        return out, p

    def predictions(self, eta: np.ndarray, kappa: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """(IPRED (N, n_obs), residual SD W (N, n_obs)) on each output's own scale."""
        amounts, p = self.amounts(eta, kappa)
        obs_idx = self.rec.observation_index
        N = amounts.shape[0]
        f = np.full((N, obs_idx.size), np.nan)
        w = np.full((N, obs_idx.size), np.nan)
        which = output_of(self.model, self.rec)
        for o_i, out in enumerate(self.model.outputs):
            cols = np.nonzero(which == o_i)[0]
            if cols.size == 0:
                continue
            r = obs_idx[cols]
            ns: dict[str, Any] = {k: v[:, r] for k, v in p.items()}
            ns.update({k: v.value for k, v in self.model.thetas.items()})
            ns.update({k: v[None, r] for k, v in self.covs.items()})
            ns.update({c: amounts[:, cols, j] for j, c in enumerate(self.model.compartments)})
            with np.errstate(all="ignore"):
                ipred = np.broadcast_to(_eval(out.prediction, ns), (N, cols.size))
                if out.sd is not None:
                    sd = np.broadcast_to(_eval(out.sd, {**ns, "IPRED": ipred}), (N, cols.size))
                else:
                    sd = np.sqrt(out.additive**2 + (out.proportional * ipred) ** 2)
                if out.scale == "log":
                    ipred = np.log(np.maximum(ipred, LOG_FLOOR))
            f[:, cols] = ipred
            w[:, cols] = np.where(sd == 0.0, ZERO_SD_REPLACEMENT, np.where(sd > 0, sd, np.nan))
        return f, w


def _eval(st: Statement, ns: dict[str, Any]) -> np.ndarray:
    from ifxdose.core.pk.expressions import FUNCTIONS, HELPERS

    env = {"__builtins__": {}, **HELPERS, **{k: fn for k, (fn, _) in FUNCTIONS.items()}, **ns}
    return np.asarray(eval(st.code, env), float)  # noqa: S307 - whitelisted, compiled AST only


def output_of(model: GeneralModel, rec: Records) -> np.ndarray:
    """Index of the output each observation record belongs to (by CMT; one output takes all)."""
    obs = rec.observation_index
    if len(model.outputs) == 1:
        return np.zeros(obs.size, dtype=int)
    by_cmt = {o.cmt: i for i, o in enumerate(model.outputs)}
    out = np.empty(obs.size, dtype=int)
    for j, r in enumerate(obs):
        c = int(rec.cmt[r])
        if c not in by_cmt:
            raise InputError(
                f"row {rec.rows[r]} CMT",
                c,
                f"observation compartments of this model are {', '.join(str(k) for k in by_cmt)}",
            )
        out[j] = by_cmt[c]
    return out
