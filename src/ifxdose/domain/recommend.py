"""The model-informed policy: the next dose and interval for a patient, with the probability
of reaching the target, cost, label flags, rationale, citations and the next visit.

Pipeline (DESIGN.md): history -> plausibility checks -> infusion times placed, levels
classified -> individual model -> posterior (MAP, Laplace, SIR) -> candidate regimens
(label-constrained; the exact prescribed mg/kg and whole vials) -> predicted troughs and
probability of target attainment (PTA) -> the decision table of ``ifxdose.domain.decisions``
(safety first, then drug level x disease activity) -> choice with rationale.

``recommend`` is one of the registered policies (``get_policy("recommend")``); it uses the
same rule functions as every other policy (``ifxdose.domain.decisions``): sampling time,
ADA by assay, infusion reactions, disease activity, label limits, vial rounding, dates.

Decisions and their sources (docs/decisions.md has the whole table):
- Targets: default lower bound 1 mg/L — troughs >= 1 ug/mL go with better ACR/EULAR
  response and DAS28 remission in RA (St Clair 2002, seed S10; RISING, Takeuchi 2009, S11).
  The NOR-DRUM B window 3-8 mg/L (Syversen 2021, S13) is ``Target.window(3, 8)``.
- Safety: a severe infusion reaction stops; ADA >= 50 ug/L (S13) or ADA with an undetectable
  level (S12) switch — never escalation.
- Drug level x activity: remission -> never escalate, and a high trough in remission offers
  de-escalation or stopping (RRRR, S15); active disease with a low trough -> one step up
  (the JP label: increases and shortenings are made stepwise, 段階的に); active disease with
  an adequate trough -> change mechanism (Mulleman 2009); low activity or unknown ->
  the cheapest option reaching the PTA threshold, at most one step up.
- "Re-sample" instead of "switch" when no option reaches the threshold only because the
  prediction is uncertain (the median is in target).
- "More mg" versus "shorter interval" is shown side by side (St Clair 2002, S10).

Assumptions (labelled):
- Candidates: the prescribed mg/kg exactly (partial vial wasted) and every whole-vial dose
  from the label's 3 mg/kg (rounded up to a vial) to the label ceiling at each interval of
  4-8 weeks (JP label: 10 mg/kg at 8 weeks, 6 mg/kg when shortened; minimum 4 weeks).
- The predicted trough is the steady-state trough: the level just before the 4th infusion
  of the candidate regimen. PTA is computed on the true concentration (no assay error).
- The first infusion of a candidate is due at last infusion + the candidate's interval
  (today if that is past); during induction (fewer than 3 infusions) the label's induction
  continues unchanged, and its yearly cost is the label's first year (8 infusions).
- Default choice: the cheapest candidate with PTA >= 90% (configurable); ties go to the
  longer interval, then the lower dose. Without a sourced price, vials per year decide.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
from collections.abc import Sequence
from functools import cache
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import numpy.typing as npt
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from ifxdose.core.errors import InputError
from ifxdose.core.pk.dose import Dose
from ifxdose.core.pk.model import PKModel
from ifxdose.domain.decisions import dosing, plausibility, sampling, table
from ifxdose.domain.decisions.activity import Activity, current_activity
from ifxdose.domain.decisions.ada import ada_status
from ifxdose.domain.decisions.cite import Citation, cite, split_joined
from ifxdose.domain.decisions.nextvisit import LOW_LEVEL_MG_L, NextVisit, next_visit
from ifxdose.domain.decisions.reactions import reaction_status
from ifxdose.domain.dosing.cost import price_for
from ifxdose.domain.dosing.label import Flag, check_infusion, max_dose_mg_per_kg, min_interval_weeks, mtx_flags
from ifxdose.domain.dosing.vials import VIAL_MG
from ifxdose.domain.estimation import Estimate, EstimateSummary, estimate
from ifxdose.domain.modelfiles import default_model_name, list_models
from ifxdose.domain.modelfiles import load_library_model as load_model
from ifxdose.domain.patient import PatientHistory, as_date
from ifxdose.domain.timeline import build_problem, dose_events, history_observations

if TYPE_CHECKING:
    from ifxdose.domain.policies.base import Decision

#: JP label (domain/data/label_rules.toml): from the shortest interval (4 weeks) to the standard (8).
INTERVALS_WEEKS = tuple(range(int(min_interval_weeks("jp")), int(dosing.standard_interval_weeks("jp")) + 1))
STEADY_STATE_DOSES = 4  # Assumption: trough before the 4th infusion of a candidate (see module docstring)
HIGH_TROUGH_MG_L = table.HIGH_TROUGH_MG_L  # for a lower-bound target (Mulleman 2009 Table 1)
FIRST_YEAR_INFUSIONS = 8  # label: weeks 0, 2, 6, 14, 22, 30, 38, 46 within the first 52 weeks
_cite = cite


class Target(BaseModel):
    """A trough target: a lower bound or a window, with its sources (frozen).

    ``source`` is a tuple of :class:`Citation` (JSON: a list of the citation texts). Payloads
    stored by older versions hold one "; "-joined string: it is read back as the same citations
    (:func:`~ifxdose.domain.decisions.cite.split_joined`)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    kind: Literal["lower", "window"]
    low_mg_l: float = Field(gt=0, le=100)
    high_mg_l: float | None = Field(default=None, gt=0, le=200)
    source: tuple[Citation, ...] = ()

    @field_validator("source", mode="before")
    @classmethod
    def _joined(cls, value: object) -> object:
        return split_joined(value) if isinstance(value, str) else value

    @model_validator(mode="after")
    def _window(self) -> "Target":
        if self.kind == "window" and (self.high_mg_l is None or self.high_mg_l <= self.low_mg_l):
            raise ValueError("a window needs high_mg_l > low_mg_l")
        if self.kind == "lower" and self.high_mg_l is not None:
            raise ValueError("a lower bound has no high_mg_l")
        return self

    @classmethod
    def lower(cls, low_mg_l: float = 1.0, source: str | Sequence[str] = ()) -> "Target":
        """A lower bound (default 1 mg/L; sources S10, S11 unless given)."""
        return cls(kind="lower", low_mg_l=low_mg_l, source=_sources(source) or (_cite("S10"), _cite("S11")))

    @classmethod
    def window(cls, low_mg_l: float = 3.0, high_mg_l: float = 8.0, source: str | Sequence[str] = ()) -> "Target":
        """A window (default 3-8 mg/L; source S13 unless given)."""
        return cls(kind="window", low_mg_l=low_mg_l, high_mg_l=high_mg_l, source=_sources(source) or (_cite("S13"),))

    @classmethod
    def parse(cls, text: str) -> "Target":
        """'1' (lower bound, mg/L) or '3-8' (window, mg/L)."""
        try:
            if "-" in text:
                lo, hi = (float(x) for x in text.split("-", 1))
                return cls.window(lo, hi, source="user-defined")
            return cls.lower(float(text), source="user-defined")
        except ValueError:
            raise InputError(
                "target", text, "expected a lower bound such as '1' or a window such as '3-8' (mg/L)"
            ) from None

    def attained(self, trough_mg_l: np.ndarray) -> np.ndarray:
        ok = trough_mg_l >= self.low_mg_l
        return ok & (trough_mg_l <= self.high_mg_l) if self.high_mg_l is not None else ok

    def text(self) -> str:
        return f">= {self.low_mg_l:g} mg/L" if self.kind == "lower" else f"{self.low_mg_l:g}-{self.high_mg_l:g} mg/L"

    def text_ja(self) -> str:
        return f"{self.low_mg_l:g} mg/L以上" if self.kind == "lower" else f"{self.low_mg_l:g}〜{self.high_mg_l:g} mg/L"


def _sources(source: str | Sequence[str]) -> tuple[Citation, ...]:
    """One source text (a user's: "user-defined") or several, as citations."""
    texts = [source] if isinstance(source, str) else list(source)
    return tuple(Citation.of(t) for t in texts if t)


class Option(BaseModel):
    """One candidate dose and interval with its predicted troughs, PTA and cost (frozen)."""

    model_config = ConfigDict(frozen=True)
    label: str
    dose_mg_per_kg: float = Field(description="mg/kg this option really gives (dose_mg / weight)")
    dose_mg: float
    vials: int
    interval_weeks: float
    next_date: dt.date
    predicted_trough_median_mg_l: float
    predicted_trough_p10_mg_l: float
    predicted_trough_p90_mg_l: float
    predicted_trough_p2_5_mg_l: float
    predicted_trough_p97_5_mg_l: float
    pta: float
    cost_per_year_jpy: int | None = Field(description="None: no sourced price for the product")
    label_flags: list[str] = Field(default_factory=list)
    prescribed_mg_per_kg: float | None = None
    pct_change_mg_per_kg: float | None = Field(default=None, description="vs the current prescription")
    wasted_mg: float = 0.0
    vials_per_year: float | None = None
    change: str = ""  # escalate / keep / reduce (vs the current regimen)


class ModelSpread(BaseModel):
    """The chosen option's predicted trough (posterior median) under each plausible RA model."""

    model_config = ConfigDict(frozen=True, protected_namespaces=())

    model: str
    grade: str
    predicted_trough_median_mg_l: float | None
    note: str = ""


class Recommendation(BaseModel):
    """The one recommendation value: what ``recommend`` returns, what the clinic store keeps
    (``model_dump(mode="json")``, rehydrated with ``model_validate``), what the JSON API answers
    and what FHIR (MedicationRequest, prediction, Device, Provenance) and the CDS cards are
    written from. Frozen: a copy (``model_copy(update=...)``) is a new value."""

    model_config = ConfigDict(frozen=True, protected_namespaces=())
    action: Literal["infuse", "stop", "switch"]
    chosen: Option | None
    options: list[Option]
    target: Target
    pta_threshold: float
    rationale: str
    rationale_ja: str = ""
    citations: list[Citation]
    model: str
    model_version: str
    estimation: EstimateSummary | None = Field(
        description="the patient's PK estimate (None: an engine that does not estimate, e.g. a stand-in)"
    )
    warnings: list[str] = Field(default_factory=list)
    warnings_ja: list[str] = Field(default_factory=list, description="the warnings in Japanese, same order")
    inputs_sha256: str
    today: dt.date
    generated_at: dt.datetime
    decision: str = Field(
        default="", description="induction / escalate / keep / reduce / stop / switch / change_mechanism / resample"
    )
    activity: str = ""
    sample: str = ""
    next_visit: NextVisit | None = None
    model_grade: str = ""
    model_spread: list[ModelSpread] = Field(default_factory=list)

    @field_validator("estimation", mode="before")
    @classmethod
    def _no_estimate(cls, value: object) -> object:
        """An empty dict (stand-in engines of older versions stored ``{}``) is no estimate."""
        return None if value == {} else value


NO_OPTION_WARNING = "no label-conform option reaches the PTA threshold: consider switching (S11, S13)"
_WARNINGS_JA = {
    NO_OPTION_WARNING: "添付文書の範囲内で必要な目標達成確率に届く選択肢がありません：切り替えを検討してください（S11、S13）。",
    "no drug levels: the estimate is the population prior": "血中濃度の測定値がないため、推定値は母集団の事前分布です。",
}
_JA_BY_PREFIX = (
    ("methotrexate", "メトトレキサート（MTX）の併用がありません：添付文書はMTXとの併用を求めています。"),
    ("false negative", "薬剤感受性の抗体測定系で陰性ですが、インフリキシマブが存在するため偽陰性の可能性があります。"),
    ("different optima", "開始点により異なる最適解に到達しました（最良を採用）：事後分布が多峰性の可能性があります。"),
    ("price unknown", "この製剤の出典のある薬価がないため、費用は表示しません（先行品の薬価で代用しません）。"),
    ("price-stale", "薬価の日付が古くなっています（薬価は毎年改定されます）。"),
    ("weight-change", "前回投与時から体重が10%以上変化しています：再測定してください（用量は体重当たり）。"),
    ("mg-vs-mgkg", "投与量（mg）と体重当たり用量（mg/kg）が一致しません。"),
    ("dose-above-label", "添付文書の上限（10 mg/kg）を超える投与記録があります。"),
    ("infusion-spacing", "投与間隔が2週間未満の投与記録があります。"),
    ("level-units", "トラフ値が高すぎます：ng/mL で報告された値ではありませんか（1000で割る）。"),
    ("same day", "同日の採血と投与があります：採血は投与前のトラフとして扱いました（時刻を入力してください）。"),
    ("not a trough", "直近の測定値はトラフではありません：ベイズ推定による予測トラフで判断しました。"),
    ("in AU/mL", "抗体価がAU/mLで報告されています：50 µg/L の中止基準は適用できません。µg/L で再検査してください。"),
    ("without a titre", "抗体陽性ですが抗体価がありません：50 µg/L の中止基準は適用できません。再検査してください。"),
    (
        "infusion reaction",
        "投与時反応がありました：前投与（抗ヒスタミン薬、アセトアミノフェン）と投与速度の減速を行ってください。",
    ),
    ("remission", "寛解のため増量しません（添付文書：増量は効果不十分又は効果減弱の場合のみ）。"),
    ("re-sample", "予測の不確実性が目標範囲より大きいため、切り替えではなくトラフの再採血を推奨します。"),
    ("disease activity", "前回投与以降の疾患活動性評価がありません：血中濃度のみで判断しています。"),
)


def _warnings_ja(warnings: list[str]) -> list[str]:
    """Japanese for the warnings this module knows; others (label texts) are shown as they are."""
    out = []
    for w in warnings:
        if w in _WARNINGS_JA:
            out.append(_WARNINGS_JA[w])
            continue
        low = w.lower()
        out.append(next((ja for key, ja in _JA_BY_PREFIX if key.lower() in low), w))
    return out


def _inputs_hash(history: PatientHistory, **params: object) -> str:
    doc = {"history": history.model_dump(mode="json"), **{k: str(v) for k, v in params.items()}}
    return hashlib.sha256(json.dumps(doc, sort_keys=True).encode()).hexdigest()


def _current_interval_weeks(history: PatientHistory) -> float:
    days = [as_date(i.date) for i in history.infusions]
    if len(days) > dosing.n_induction():
        gap = (days[-1] - days[-2]).days / 7.0
        return float(min(max(round(gap), min(INTERVALS_WEEKS)), max(INTERVALS_WEEKS)))
    return dosing.standard_interval_weeks()


def _current_mg_per_kg(history: PatientHistory) -> float:
    """The last infusion's prescribed mg/kg; if not recorded, dose_mg / weight on that day."""
    last = history.infusions[-1]
    if last.dose_mg_per_kg is not None:
        return last.dose_mg_per_kg
    weight = history.weight_on(last.date)
    if weight is None:
        raise InputError("weights", [], "at least one body weight is needed (mg/kg dosing)")
    return round(last.dose_mg / weight, 2)


def _predict_troughs(
    history: PatientHistory,
    model: PKModel,
    est: Estimate,
    dose_mg_given: float,
    interval: float,
    next_day: float,
    n_doses: int,
) -> npt.NDArray[np.float64]:
    """Posterior troughs just before the n-th future dose of ``dose_mg_given`` every ``interval`` weeks."""
    step = interval * 7.0
    future = [Dose.infusion(next_day + j * step, dose_mg_given) for j in range(n_doses - 1)]
    problem = build_problem(history, model, future)
    return problem.predict(est.posterior.eta, np.array([next_day + (n_doses - 1) * step]))[:, 0]


def _candidate_troughs(ctx: "_Context", candidates: list[tuple[float, float, float]]) -> list[npt.NDArray[np.float64]]:
    """Posterior steady-state troughs for (dose mg, interval weeks, first future day) candidates.

    For a linear model the concentration is linear in every dose (superposition, also with
    time-varying clearance), so per interval one prediction with 1 mg doses gives every dose:
    trough(mg) = history part + mg x (unit-dose part). A nonlinear model (TMDD) is simulated per
    candidate. Both give the same numbers as :func:`_predict_troughs` (tests/estimation).
    """
    h, m, est = ctx.history, ctx.model, ctx.est
    if not m.is_linear:
        return [_predict_troughs(h, m, est, mg, w, day, STEADY_STATE_DOSES) for mg, w, day in candidates]
    keys = sorted({(w, day) for _, w, day in candidates})
    t_trough = {k: k[1] + (STEADY_STATE_DOSES - 1) * k[0] * 7.0 for k in keys}
    base = build_problem(h, m).predict(est.posterior.eta, np.array([t_trough[k] for k in keys]))
    unit: dict[tuple[float, float], tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]] = {}
    for j, k in enumerate(keys):
        with_unit = _predict_troughs(h, m, est, 1.0, k[0], k[1], STEADY_STATE_DOSES)
        unit[k] = (base[:, j], with_unit - base[:, j])
    return [unit[(w, day)][0] + mg * unit[(w, day)][1] for mg, w, day in candidates]


def _model_grade(model: PKModel) -> str:
    grades = sorted({v.grade for v in model.parameters.values()} | {model.omega_grade, model.residual_grade})
    return f"parameter grades {'/'.join(grades)} (worst {grades[-1]}); {model.population}"


@cache
def ra_models() -> tuple[str, ...]:
    """The library's plausible RA models: a name ending in ``_ra`` or an RA population."""
    out = []
    for name in list_models():
        m = load_model(name)
        if name.endswith("_ra") or "rheumatoid" in (m.title + m.population).lower() or " RA" in m.title:
            out.append(name)
    return tuple(out)


class ModelInformedPolicy:
    """``recommend`` as a registered policy: ``decide(history, today) -> Decision``."""

    name = "recommend"
    title = "Model-informed dosing (Bayesian TDM, PTA, decision table)"
    citation = "Bayesian TDM with the library's RA model; targets St Clair 2002 (S10), RISING (S11), NOR-DRUM B (S13)"
    seed_tags = ("S10", "S11", "S13")
    replay = False

    def __init__(
        self,
        model: str | None = None,
        target: Target | None = None,
        pta_threshold: float = 0.9,
        n_samples: int = 1000,
        seed: int = 0,
        model_spread: bool = True,
        rules: str = "jp",
    ) -> None:
        if rules != "jp":
            raise InputError("rules", rules, "recommend applies the JP label (rules='jp')")
        self.kw: dict[str, Any] = dict(
            model=model,
            target=target,
            pta_threshold=pta_threshold,
            n_samples=n_samples,
            seed=seed,
            model_spread=model_spread,
        )

    def decide(self, history: PatientHistory, today: dt.date) -> Decision:
        return as_decision(recommend(history, today=today, **self.kw))


def as_decision(rec: Recommendation) -> Decision:
    """A :class:`Recommendation` in the shape every policy returns."""
    from ifxdose.domain.dosing.label import Flag
    from ifxdose.domain.policies.base import Decision

    o = rec.chosen
    flags = [
        Flag(rule_id="recommend-label", severity="violation", message=m, citation=cite("label-jp"))
        for m in (o.label_flags if o else [])
    ]
    return Decision(
        policy="recommend",
        action=rec.action,
        date=o.next_date if o else rec.today,
        dose_mg_per_kg=None if o is None else (o.prescribed_mg_per_kg or o.dose_mg_per_kg),
        dose_mg=None if o is None else o.dose_mg,
        vials=None if o is None else o.vials,
        wasted_mg=None if o is None else o.wasted_mg,
        interval_weeks=None if o is None else o.interval_weeks,
        rationale=rec.rationale,
        citations=list(rec.citations),
        flags=flags,
        kind=rec.decision,
        warnings=rec.warnings,
        next_visit=rec.next_visit,
    )


def recommend(
    history: PatientHistory,
    *,
    model: str | None = None,
    target: Target | None = None,
    today: dt.date | None = None,
    pta_threshold: float = 0.9,
    n_samples: int = 1000,
    seed: int = 0,
    clinic_time: dt.time = sampling.CLINIC_INFUSION_TIME,
    model_spread: bool = True,
) -> Recommendation:
    """Recommend the next infusion (or stop/switch) for this patient."""
    if not 0 < pta_threshold < 1:
        raise InputError("pta_threshold", pta_threshold, "allowed range is (0, 1)")
    m = load_model(model or default_model_name())
    target = target or Target.lower()
    today = today or dt.date.today()
    if not history.infusions:
        raise InputError("infusions", [], "at least one infusion is needed")
    late = [
        f"{name}[{i}]"
        for name in ("infusions", "levels")
        for i, e in enumerate(getattr(history, name))
        if as_date(e.date) > today
    ]
    if late:
        raise InputError(
            late[0], "after today", f"entries must be dated on or before {today} (the recommendation date)"
        )
    named = plausibility.check_history(history, today)
    placed, time_warnings = sampling.place_infusion_times(history, clinic_time)
    est = estimate(placed, m, n_samples=n_samples, seed=seed)
    weight = placed.weight_on(today)
    if weight is None:  # estimate() refuses this first; kept for the type
        raise InputError("weights", [], "at least one body weight is needed (mg/kg dosing and PK covariate)")
    warnings = [*time_warnings, *(w.text() for w in named), *est.warnings]
    if not placed.on_mtx(today):
        warnings += [f.message for f in mtx_flags(False, "jp")]
    ctx = _Context(placed, m, est, weight, target, pta_threshold, today, warnings)
    common: dict[str, Any] = dict(
        target=target,
        pta_threshold=pta_threshold,
        model=m.name,
        model_version=m.version,
        estimation=est.summary(),
        inputs_sha256=_inputs_hash(
            history, model=m.name, target=target.text(), today=today, pta=pta_threshold, seed=seed
        ),
        today=today,
        generated_at=dt.datetime.now(dt.timezone.utc),
        model_grade=_model_grade(m),
    )
    decided = _decide(ctx)
    rec = Recommendation(**decided, warnings=warnings, warnings_ja=_warnings_ja(warnings), **common)
    if model_spread and rec.chosen is not None:
        rec = rec.model_copy(update={"model_spread": _spread(placed, rec.chosen, m.name, target)})
    return rec


class _Context:
    """What every rule of one recommendation reads (and the warnings they add)."""

    def __init__(
        self,
        history: PatientHistory,
        model: PKModel,
        est: Estimate,
        weight: float,
        target: Target,
        threshold: float,
        today: dt.date,
        warnings: list[str],
    ) -> None:
        self.history, self.model, self.est, self.weight = history, model, est, weight
        self.target, self.threshold, self.today, self.warnings = target, threshold, today, warnings
        self.reaction = reaction_status(history, today)
        self.ada = ada_status(history, today)
        self.activity = current_activity(history, today)
        self.sample = sampling.latest_sample(history, today)
        product = history.infusions[-1].product
        self.price, price_warnings = price_for(product, today)
        warnings += price_warnings + self.ada.warnings

    def visit(self, next_date: dt.date | None, number: int | None) -> NextVisit:
        s = self.sample
        low = s is not None and (s.level.below_lloq or (s.level.value_mg_l or 0.0) < LOW_LEVEL_MG_L)
        known = [a.date for a in self.history.ada if a.date <= self.today]
        return next_visit(next_date, number, self.reaction, self.ada.positive, low, known[-1] if known else None)


def _no_infusion(
    ctx: _Context, action: str, decision: str, why: str, why_ja: str, cites: list[Citation]
) -> dict[str, Any]:
    return dict(
        action=action,
        decision=decision,
        chosen=None,
        options=[],
        rationale=why,
        rationale_ja=why_ja,
        citations=cites,
        activity=ctx.activity.text(),
        next_visit=ctx.visit(None, None),
    )


def _decide(ctx: _Context) -> dict[str, Any]:
    h = ctx.history
    if ctx.reaction.severity == "severe":
        return _no_infusion(
            ctx, "stop", "stop", ctx.reaction.stop_reason(), ctx.reaction.stop_reason_ja(), ctx.reaction.citations()
        )
    if ctx.ada.switch:
        return _no_infusion(ctx, "switch", "switch", ctx.ada.reason(), ctx.ada.reason_ja(), ctx.ada.citations())
    if ctx.reaction.severity == "mild":
        ctx.warnings.append(ctx.reaction.premedication())
    s = ctx.sample
    if s is not None and not s.is_trough and s.kind != "baseline":
        ctx.warnings.append(
            f"levels[{s.index}] is a {s.describe()}, not a trough: the model uses it at its time "
            "and the decision rests on the posterior-predicted trough"
        )
    troughs = [
        (x.index, x.level.value_mg_l)
        for x in sampling.classify_levels(h)
        if x.is_trough and x.level.value_mg_l is not None
    ]
    ctx.warnings.extend(w.text() for w in plausibility.check_trough_units(troughs))
    if len(h.infusions) < dosing.n_induction():
        return _induction(ctx)
    return _maintenance(ctx)


def _option(
    ctx: _Context,
    troughs: npt.NDArray[np.float64],
    mgkg_prescribed: float | None,
    dose_mg_given: float,
    vials: int,
    interval: float,
    next_date: dt.date,
    flags: list[Flag],
    current_mgkg: float | None,
    label: str = "",
    yearly_infusions: float | None = None,
) -> Option:
    q = np.quantile(troughs, [0.5, 0.1, 0.9, 0.025, 0.975])
    per_year = yearly_infusions if yearly_infusions is not None else 365.25 / (7 * interval)
    vials_year = vials * per_year
    cost = None if ctx.price is None else round(float(ctx.price.price) * vials_year)
    given = round(dose_mg_given / ctx.weight, 3)
    return Option(
        label=label,
        dose_mg_per_kg=given,
        dose_mg=dose_mg_given,
        vials=vials,
        interval_weeks=interval,
        next_date=next_date,
        predicted_trough_median_mg_l=q[0],
        predicted_trough_p10_mg_l=q[1],
        predicted_trough_p90_mg_l=q[2],
        predicted_trough_p2_5_mg_l=q[3],
        predicted_trough_p97_5_mg_l=q[4],
        pta=float(np.mean(ctx.target.attained(troughs))),
        cost_per_year_jpy=cost,
        label_flags=[f.message for f in flags],
        prescribed_mg_per_kg=mgkg_prescribed,
        pct_change_mg_per_kg=None if current_mgkg is None else dosing.pct_change(current_mgkg, given),
        wasted_mg=round(vials * VIAL_MG - dose_mg_given, 2),
        vials_per_year=round(vials_year, 2),
    )


def _induction(ctx: _Context) -> dict[str, Any]:
    """Fewer than three infusions: the label's induction continues unchanged (seed S0)."""
    h = ctx.history
    n_given = len(h.infusions)
    weeks = dosing.induction_weeks()
    first = as_date(h.infusions[0].date)
    next_date = max(first + dt.timedelta(weeks=weeks[n_given]), ctx.today)
    following = weeks[n_given + 1] if n_given + 1 < len(weeks) else weeks[-1] + dosing.standard_interval_weeks()
    gap_weeks = float(following - weeks[n_given])
    mgkg = dosing.induction_mg_per_kg()
    plan = dosing.prepare(mgkg, ctx.weight)
    troughs = _predict_troughs(h, ctx.model, ctx.est, plan.given_mg, gap_weeks, h.day_of(next_date), 2)
    flags = check_infusion(n_given + 1, mgkg, None, "jp")
    option = _option(
        ctx,
        troughs,
        mgkg,
        plan.given_mg,
        plan.vials,
        gap_weeks,
        next_date,
        flags,
        None,
        label="label induction, recommended",
        yearly_infusions=FIRST_YEAR_INFUSIONS,
    )
    # the interval in force is the induction gap that leads to this infusion (as for every policy);
    # the predicted trough is the one before the following infusion
    option = option.model_copy(update={"interval_weeks": float(weeks[n_given] - weeks[n_given - 1])})
    dose = plan.given_mg
    why = (
        f"Induction continues as labelled: 3 mg/kg ({dose:g} mg, {option.vials} vials) on {next_date} "
        f"(weeks 0, 2 and 6, then every 8 weeks); dose changes guided by levels start in maintenance. "
        f"Predicted trough before the following infusion: median {option.predicted_trough_median_mg_l:.2f} mg/L "
        f"(80% interval {option.predicted_trough_p10_mg_l:.2f}-{option.predicted_trough_p90_mg_l:.2f}), "
        f"{option.pta:.0%} probability {ctx.target.text()}. Yearly cost: the label's first year "
        f"({FIRST_YEAR_INFUSIONS} infusions), not the induction gap annualised."
    )
    why_ja = (
        f"導入期は添付文書どおり継続します：3 mg/kg（{dose:g} mg、{option.vials}バイアル）を{next_date}に投与"
        f"（0、2、6週、その後8週ごと）。血中濃度に基づく変更は維持期から行います。次回投与前の予測トラフは"
        f"中央値 {option.predicted_trough_median_mg_l:.2f} mg/L（80%区間 {option.predicted_trough_p10_mg_l:.2f}〜"
        f"{option.predicted_trough_p90_mg_l:.2f}）、{ctx.target.text_ja()}となる確率 {option.pta:.0%} です。"
        f"年間費用は添付文書の初年度（{FIRST_YEAR_INFUSIONS}回投与）です。"
    )
    return dict(
        action="infuse",
        decision="induction",
        chosen=option,
        options=[option],
        rationale=why,
        rationale_ja=why_ja,
        citations=[cite("S0"), cite("label-jp")],
        activity=ctx.activity.text(),
        sample="" if ctx.sample is None else ctx.sample.describe(),
        next_visit=ctx.visit(next_date, n_given + 1),
    )


def _candidates(ctx: _Context, current_mgkg: float) -> list[tuple[float | None, float, int, float]]:
    """(prescribed mg/kg or None for whole vials, mg, vials, interval) within the label."""
    out: list[tuple[float | None, float, int, float]] = []
    floor = dosing.induction_mg_per_kg()
    for interval in INTERVALS_WEEKS:
        if interval < min_interval_weeks("jp"):
            continue
        if current_mgkg <= max_dose_mg_per_kg(interval, "jp") + 1e-9:
            plan = dosing.prepare(current_mgkg, ctx.weight)
            out.append((current_mgkg, plan.given_mg, plan.vials, float(interval)))
        for v in dosing.whole_vial_doses(ctx.weight, interval, floor):
            out.append((None, float(v * VIAL_MG), v, float(interval)))
    return out


def _band(ctx: _Context, o: Option) -> Literal["low", "adequate", "high"]:
    t = ctx.target
    med = o.predicted_trough_median_mg_l
    if med < t.low_mg_l:
        return "low"
    high = t.high_mg_l if t.high_mg_l is not None else max(HIGH_TROUGH_MG_L, t.low_mg_l)
    return "high" if med > high or (t.high_mg_l is None and med >= high) else "adequate"


def _one_step(current: tuple[float, float], o: Option) -> bool:
    """At most one step up: +1.5 mg/kg at the same interval, or -2 weeks at the same mg/kg (10 %)."""
    d0, w0 = current
    if abs(o.interval_weeks - w0) < 1e-9:
        return o.dose_mg_per_kg <= d0 + dosing.DOSE_STEP_MG_PER_KG + dosing.CURRENT_TOLERANCE * d0 + 1e-9
    return o.interval_weeks >= w0 - dosing.INTERVAL_STEP_WEEKS - 1e-9 and dosing.is_current(d0, o.dose_mg_per_kg)


def _maintenance(ctx: _Context) -> dict[str, Any]:
    h = ctx.history
    last_date = as_date(h.infusions[-1].date)
    cur_interval = _current_interval_weeks(h)
    cur_mgkg = _current_mg_per_kg(h)
    current = (cur_mgkg, cur_interval)
    n_given = len(h.infusions)
    options: list[Option] = []
    candidates: list[tuple[float | None, float, int, float]] = []
    for mgkg, mg, vials, interval in _candidates(ctx, cur_mgkg):
        if mgkg is None and any(c[0] is not None and c[1] == mg and c[3] == interval for c in candidates):
            continue  # the prescribed dose is already whole vials: one option, not two
        candidates.append((mgkg, mg, vials, interval))
    next_dates = {w: dosing.next_due(last_date, w, ctx.today) for w in {c[3] for c in candidates}}
    predicted = _candidate_troughs(ctx, [(mg, w, h.day_of(next_dates[w])) for _, mg, _, w in candidates])
    for (mgkg, mg, vials, interval), troughs in zip(candidates, predicted):
        next_date = next_dates[interval]
        flags = check_infusion(n_given + 1, mg / ctx.weight, (next_date - last_date).days / 7.0, "jp")
        o = _option(ctx, troughs, mgkg, mg, vials, interval, next_date, flags, cur_mgkg)
        label = o.label
        if mgkg is not None:
            label = "current" if interval == cur_interval else "prescribed mg/kg"
        elif dosing.is_current(cur_mgkg, o.dose_mg_per_kg) and interval == cur_interval:
            label = "current (whole vials)"
        change = dosing.exposure_change(current, (o.dose_mg_per_kg, interval))
        options.append(o.model_copy(update={"change": change, "label": label}))
    if not options:
        raise InputError("weights", ctx.weight, "no label-conform dose exists at this weight; check the weight")
    cur_opt = next((o for o in options if o.label == "current"), None) or min(
        options, key=lambda o: (abs(o.interval_weeks - cur_interval), abs(o.dose_mg_per_kg - cur_mgkg))
    )
    band = _band(ctx, cur_opt)
    row = table.lookup(band, ctx.activity.category)
    cites = [cite("S0"), *ctx.target.source, *row.citations()]
    base = dict(
        options=options, activity=ctx.activity.text(), sample="" if ctx.sample is None else ctx.sample.describe()
    )
    seen = (
        f"Current {cur_mgkg:g} mg/kg every {cur_interval:g} weeks: predicted steady-state trough median "
        f"{cur_opt.predicted_trough_median_mg_l:.2f} mg/L (80% interval {cur_opt.predicted_trough_p10_mg_l:.2f}-"
        f"{cur_opt.predicted_trough_p90_mg_l:.2f}), {band} for {ctx.target.text()}; {ctx.activity.text()}."
    )
    seen_ja = (
        f"現在の {cur_mgkg:g} mg/kg・{cur_interval:g}週ごとでは、定常状態トラフの予測中央値 "
        f"{cur_opt.predicted_trough_median_mg_l:.2f} mg/L（80%区間 {cur_opt.predicted_trough_p10_mg_l:.2f}〜"
        f"{cur_opt.predicted_trough_p90_mg_l:.2f}）で、{ctx.target.text_ja()}に対して{_BAND_JA[band]}です。"
        f"{_activity_ja(ctx.activity)}。"
    )
    if ctx.activity.category == "unknown":
        ctx.warnings.append(
            "no disease activity assessment since the previous infusion: the decision rests on "
            "the drug level alone; the label allows increases only for inadequate response"
        )
    if row.kind == "change_mechanism" and band == "adequate" and _measured_trough_low(ctx):
        row = table.row("active-measured-low")
        cites = list(dict.fromkeys([*cites, *row.citations()]))
        assert ctx.sample is not None  # _measured_trough_low: a measured trough exists
        lv = ctx.sample.describe()
        why = (
            f"{seen} But the {lv} was below {ctx.target.text()}: measured and predicted exposure disagree, so "
            f"keep {_describe(cur_opt)} and re-sample a pre-dose trough before choosing between escalation and a "
            "change of mechanism."
        )
        why_ja = (
            seen_ja
            + f"ただし実測トラフ（{ctx.sample.when:%Y-%m-%d}）は{ctx.target.text_ja()}を下回っていました。実測と予測が"
            f"一致しないため、{_describe_ja(cur_opt)}を継続し、増量か作用機序の変更かを決める前にトラフを再採血して"
            "ください。"
        )
        ctx.warnings.append(
            "re-sample: the latest measured trough is below target but the predicted steady-state "
            "trough is in target; draw another pre-dose trough before changing mechanism"
        )
        options, cur_opt, _ = _tagged(options, cur_opt, cur_opt, "recommended")
        base["options"] = options
        return dict(
            action="infuse",
            decision="resample",
            chosen=cur_opt,
            rationale=why,
            rationale_ja=why_ja,
            citations=cites,
            next_visit=ctx.visit(cur_opt.next_date, n_given + 1),
            **base,
        )
    if row.kind == "change_mechanism":
        why = (
            f"{seen} The trough is adequate but the disease is active: the failure is not pharmacokinetic, so "
            "change mechanism (a non-TNF biologic or a JAK inhibitor) rather than escalate (Mulleman 2009)."
        )
        why_ja = (
            seen_ja + "トラフは十分ですが疾患活動性が高く、薬物動態による効果不十分ではないため、増量ではなく"
            "作用機序の異なる薬剤（非TNF生物学的製剤またはJAK阻害薬）への変更を推奨します（Mulleman 2009）。"
        )
        return dict(
            action="switch",
            decision="change_mechanism",
            chosen=None,
            rationale=why,
            rationale_ja=why_ja,
            citations=list(dict.fromkeys(cites)),
            next_visit=ctx.visit(None, None),
            **base,
        )
    if row.kind in ("keep", "reduce") and ctx.activity.remission:
        allowed = [o for o in options if o.change != "escalate"]
    elif row.kind == "escalate" or row.id == "low-activity":
        allowed = [o for o in options if o.change != "escalate" or _one_step(current, o)]
    else:
        allowed = list(options)
    chosen, why, why_ja, decision = _choose(ctx, allowed, cur_opt, row, seen, seen_ja)
    options, chosen, _ = _tagged(options, chosen, chosen, "recommended")
    more_mg, shorter = _alternatives(ctx, options, current)
    for alternative, tag in ((more_mg, "more mg"), (shorter, "shorter interval")):
        if alternative is not None and tag not in alternative.label:
            options, chosen, _ = _tagged(options, chosen, alternative, tag)
    base["options"] = options
    if more_mg or shorter:
        why += _comparison(more_mg, shorter, "en")
        why_ja += _comparison(more_mg, shorter, "ja")
    return dict(
        action="infuse",
        decision=decision,
        chosen=chosen,
        rationale=why,
        rationale_ja=why_ja,
        citations=list(dict.fromkeys(cites)),
        next_visit=ctx.visit(chosen.next_date, n_given + 1),
        **base,
    )


def _measured_trough_low(ctx: _Context) -> bool:
    """The latest level the decision reads is a pre-dose trough below the target's lower bound."""
    s = ctx.sample
    if s is None or not s.is_trough:
        return False
    return s.level.below_lloq or (s.level.value_mg_l is not None and s.level.value_mg_l < ctx.target.low_mg_l)


def _key(o: Option) -> tuple[float, float, int, bool]:
    # every candidate has vials_per_year (set by _option); 0.0 only for a hand-made Option without it
    cost = o.cost_per_year_jpy if o.cost_per_year_jpy is not None else (o.vials_per_year or 0.0)
    return (cost, -o.interval_weeks, o.vials, o.prescribed_mg_per_kg is None)


def _describe(o: Option) -> str:
    pct = "" if o.pct_change_mg_per_kg is None else f", {o.pct_change_mg_per_kg:+.0f}% mg/kg"
    return (
        f"{o.dose_mg:g} mg ({o.dose_mg_per_kg:.2f} mg/kg{pct}, {o.vials} vials) every {o.interval_weeks:g} "
        f"weeks from {o.next_date}"
    )


def _describe_ja(o: Option) -> str:
    pct = "" if o.pct_change_mg_per_kg is None else f"、mg/kg {o.pct_change_mg_per_kg:+.0f}%"
    return (
        f"{o.dose_mg:g} mg（{o.dose_mg_per_kg:.2f} mg/kg{pct}、{o.vials}バイアル）を{o.next_date}から"
        f"{o.interval_weeks:g}週ごと"
    )


def _pred(o: Option) -> str:
    return (
        f"predicted median {o.predicted_trough_median_mg_l:.2f} mg/L, 80% interval "
        f"{o.predicted_trough_p10_mg_l:.2f}-{o.predicted_trough_p90_mg_l:.2f}; PTA {o.pta:.0%}"
    )


def _pred_ja(o: Option) -> str:
    return (
        f"予測中央値 {o.predicted_trough_median_mg_l:.2f} mg/L、80%区間 {o.predicted_trough_p10_mg_l:.2f}〜"
        f"{o.predicted_trough_p90_mg_l:.2f}、PTA {o.pta:.0%}"
    )


_BAND_JA = {"low": "低値", "adequate": "適正", "high": "高値"}
_CATEGORY_JA = {"remission": "寛解", "low": "低疾患活動性", "moderate": "中等度疾患活動性", "high": "高疾患活動性"}


def _activity_ja(a: Activity) -> str:
    if a.category == "unknown":
        return "疾患活動性は不明（前回投与以降の評価なし）"
    return f"{a.score} {a.value}（{a.when}、{_CATEGORY_JA[a.category]}）"


def _choose(
    ctx: _Context, allowed: list[Option], cur_opt: Option, row: table.Row, seen: str, seen_ja: str
) -> tuple[Option, str, str, str]:
    t, thr = ctx.target, ctx.threshold
    ok = [o for o in allowed if o.pta >= thr]
    if row.kind == "reduce":
        lower = [o for o in ok if o.change == "reduce"]
        chosen = min(lower, key=_key) if lower else cur_opt
        why = (
            f"{seen} Remission with a trough above target: offer de-escalation — {_describe(chosen)} "
            f"({_pred(chosen)}) — or stopping infliximab with close monitoring for flare (RRRR: stopping after "
            "sustained remission, Tanaka 2020, S15)."
        )
        why_ja = (
            seen_ja + f"寛解かつトラフが目標より高いため、減量（{_describe_ja(chosen)}、{_pred_ja(chosen)}）または"
            "厳重な経過観察下での休薬を提案します（RRRR, Tanaka 2020, S15）。"
        )
        return chosen, why, why_ja, "reduce" if chosen is not cur_opt else "keep"
    if ctx.activity.remission:
        chosen = min(ok, key=_key) if ok else cur_opt
        why = (
            f"{seen} Remission: no escalation (the JP label allows increases only for inadequate or waning "
            f"response). {_describe(chosen)} ({_pred(chosen)})."
        )
        why_ja = (
            seen_ja + f"寛解のため増量しません（添付文書：増量は効果不十分又は効果減弱の場合のみ）。"
            f"{_describe_ja(chosen)}（{_pred_ja(chosen)}）。"
        )
        if not ok:
            ctx.warnings.append(
                "remission with a predicted trough below target: not escalated; re-check the trough "
                "and activity at the next visit"
            )
        return chosen, why, why_ja, "keep" if chosen.change != "reduce" else "reduce"
    if ok:
        chosen = min(ok, key=_key)
        step = " (one step, as the label asks: 段階的に)" if chosen.change == "escalate" else ""
        why = (
            f"{seen} {_describe(chosen)} is the cheapest option{step} with a {chosen.pta:.0%} probability of a "
            f"steady-state trough {t.text()} ({_pred(chosen)})."
        )
        why_ja = (
            seen_ja + f"{_describe_ja(chosen)}が、定常状態トラフが{t.text_ja()}となる確率 {chosen.pta:.0%} を満たす"
            "最も安価な選択肢です" + ("（添付文書どおり段階的な増量）" if step else "") + f"（{_pred_ja(chosen)}）。"
        )
        return chosen, why, why_ja, chosen.change
    best = max(allowed, key=lambda o: (o.pta, -_key(o)[0]))
    in_target = t.low_mg_l <= best.predicted_trough_median_mg_l <= (t.high_mg_l or math.inf)
    if in_target:
        why = (
            f"{seen} No option reaches a {thr:.0%} probability of a trough {t.text()}, but the predicted median "
            f"of {_describe(best)} is in target: the prediction is uncertain, not failing. Re-sample a trough "
            f"before the next infusion rather than switching ({_pred(best)})."
        )
        why_ja = (
            seen_ja + f"トラフが{t.text_ja()}となる確率 {thr:.0%} に届く選択肢はありませんが、{_describe_ja(best)}の"
            "予測中央値は目標内です。不確実性の問題であり治療失敗ではないため、切り替えではなくトラフを再採血して"
            f"ください（{_pred_ja(best)}）。"
        )
        ctx.warnings.append(
            "re-sample: the prediction interval is wider than the target allows; draw another "
            "trough before deciding to switch"
        )
        return best, why, why_ja, "resample"
    why = (
        f"{seen} No option within the label (and one step) reaches a {thr:.0%} probability of a trough "
        f"{t.text()}; the best is {_describe(best)} ({_pred(best)})."
    )
    why_ja = (
        seen_ja
        + f"添付文書の範囲内（段階的増量）で、トラフが{t.text_ja()}となる確率 {thr:.0%} に届く選択肢はありません。"
        f"最良は{_describe_ja(best)}（{_pred_ja(best)}）です。"
    )
    ctx.warnings.append(NO_OPTION_WARNING)
    return best, why, why_ja, best.change


def _alternatives(
    ctx: _Context, options: list[Option], current: tuple[float, float]
) -> tuple[Option | None, Option | None]:
    """More mg at the current interval versus the current mg/kg at a shorter interval (S10)."""
    ok = [o for o in options if o.pta >= ctx.threshold]
    more_mg = min(
        (o for o in ok if o.interval_weeks == current[1] and o.change == "escalate"),
        key=lambda o: o.dose_mg,
        default=None,
    )
    shorter = min(
        (o for o in ok if o.interval_weeks < current[1] and dosing.is_current(current[0], o.dose_mg_per_kg)),
        key=lambda o: (-o.interval_weeks, o.vials),
        default=None,
    )
    return more_mg, shorter


def _tagged(options: list[Option], chosen: Option, option: Option, tag: str) -> tuple[list[Option], Option, Option]:
    """``option`` with ``tag`` added to its label (Options are frozen: a new value), in place of
    the old one in ``options`` and as ``chosen`` if it was chosen; returns the new list, the
    chosen option and the tagged one."""
    new = option.model_copy(update={"label": (option.label + ", " + tag).strip(", ")})
    return [new if o is option else o for o in options], (new if chosen is option else chosen), new


#: "More mg" versus "shorter interval" (St Clair 2002, S10), in each language of the clinic.
_COMPARISON = {
    "en": {
        "more": "more mg ({mg:g} mg every {weeks:g} weeks: PTA {pta:.0%}, {cost} JPY/year)",
        "shorter": "a shorter interval ({mg:g} mg every {weeks:g} weeks: PTA {pta:.0%}, {cost} JPY/year)",
        "frame": " Compared: {parts} (St Clair 2002, S10).",
        "join": " versus ",
    },
    "ja": {
        "more": "増量（{mg:g} mg を{weeks:g}週ごと：PTA {pta:.0%}、年間{cost}円）",
        "shorter": "投与間隔の短縮（{mg:g} mg を{weeks:g}週ごと：PTA {pta:.0%}、年間{cost}円）",
        "frame": " 比較：{parts}（St Clair 2002, S10）。",
        "join": "と",
    },
}


def _comparison(more_mg: Option | None, shorter: Option | None, language: str) -> str:
    text = _COMPARISON[language]
    parts = [
        text[key].format(
            mg=o.dose_mg,
            weeks=o.interval_weeks,
            pta=o.pta,
            cost="?" if o.cost_per_year_jpy is None else f"{o.cost_per_year_jpy:,}",
        )
        for key, o in (("more", more_mg), ("shorter", shorter))
        if o is not None
    ]
    return text["frame"].format(parts=text["join"].join(parts))


def _spread(history: PatientHistory, chosen: Option, used: str, target: Target) -> list[ModelSpread]:
    """The chosen option's predicted trough under every plausible RA model: the posterior median
    for the model used; for the others the individual (MAP) prediction, which is fast.

    Assumption: the MAP prediction stands for the other models' posterior median (the spread across
    models is about structure and typical values, larger than the MAP-vs-median difference)."""
    from ifxdose.core.estimation import EstimationError, estimate_map

    out = []
    for name in ra_models():
        m = load_model(name)
        if name == used:
            out.append(
                ModelSpread(
                    model=name,
                    grade=_model_grade(m),
                    note="used for the decision (posterior median)",
                    predicted_trough_median_mg_l=chosen.predicted_trough_median_mg_l,
                )
            )
            continue
        try:
            step = chosen.interval_weeks * 7.0
            start = history.day_of(chosen.next_date)
            future = [Dose.infusion(start + j * step, chosen.dose_mg) for j in range(STEADY_STATE_DOSES - 1)]
            problem = build_problem(history, m, future)
            obs = history_observations(history)
            eta = estimate_map(build_problem(history, m), obs).eta if obs.n else np.zeros(len(m.eta_parameters))
            trough = problem.predict(eta[None, :], np.array([start + (STEADY_STATE_DOSES - 1) * step]))[0, 0]
            out.append(
                ModelSpread(
                    model=name,
                    grade=_model_grade(m),
                    predicted_trough_median_mg_l=float(trough),
                    note="individual (MAP) prediction",
                )
            )
        except (InputError, EstimationError) as exc:
            out.append(
                ModelSpread(
                    model=name, grade=_model_grade(m), predicted_trough_median_mg_l=None, note=f"not applicable: {exc}"
                )
            )
    return out


class Profile(BaseModel):
    time_days: list[float]
    ipred_mg_l: list[float]
    lower_mg_l: list[float]
    upper_mg_l: list[float]
    observed: list[tuple[float, float, bool]]
    dose_days: list[float]
    target: Target | None = None


#: The plotted curve's points (issue 13: the first view of a patient page computed the 80 %
#: band on 1,150 daily points over three years, a quarter of its time, for a plot 688 px wide):
#: every dose start (the trough) and end of infusion (the peak) exactly; daily for
#: :data:`PROFILE_DENSE_DAYS` after each dose (the distribution phase, where the
#: log-concentration bends: the same days as the daily grid before); every covariate change
#: with the day before it and :data:`PROFILE_CHANGE_DAYS` days after it (a new volume moves the
#: concentration at once, then redistributes); otherwise every :data:`PROFILE_STEP_DAYS` (the
#: elimination phase, log-linear between doses: the straight segments the plot draws lose nothing).
#: The error against the daily curve is measured in tests/web/test_profile_grid.py
#: (curve <= 0.004 px, band edges <= 0.53 px of the 760 x 300 plot, less than the band's own
#: sampling noise, on 3-year histories of the three RA models).
#: Assumption: a plot needs no daily points in the elimination phase (the
#: error above is measured, not assumed).
PROFILE_STEP_DAYS = 7.0
PROFILE_DENSE_DAYS = 7.0
PROFILE_CHANGE_DAYS = 3.0


def profile_grid_days(doses: list[Any], segment_start_days: Any, end_day: float) -> np.ndarray:
    """The plotted curve's time points (days) up to ``end_day`` (see :data:`PROFILE_STEP_DAYS`)."""
    starts = np.array([d for d, *_ in doses], float)
    ends = np.array([d + dur for d, _, dur, _ in doses], float)
    changes = np.asarray(segment_start_days, float)
    days = np.arange(1.0, PROFILE_DENSE_DAYS + 1e-9)
    after_dose = (starts[:, None] + days[None, :]).ravel()  # the daily points of before
    around_change = (changes[:, None] + np.arange(-1.0, PROFILE_CHANGE_DAYS + 1e-9)[None, :]).ravel()
    t = np.unique(
        np.concatenate([np.arange(0.0, end_day + 1e-9, PROFILE_STEP_DAYS), starts, ends, after_dose, around_change])
    )
    return t[(t >= 0.0) & (t <= end_day + 1e-9)]


def predict_profile(
    history: PatientHistory,
    *,
    model: str | None = None,
    horizon_days: float | None = None,
    n_samples: int = 500,
    seed: int = 0,
    target: Target | None = None,
    est: Estimate | None = None,
) -> Profile:
    """Individual prediction (MAP) and 80% posterior band over the history, for plots, at
    the points of :func:`profile_grid_days` (each value is the exact engine's at its time)."""
    m = load_model(model or default_model_name())
    problem = build_problem(history, m)  # one build, shared with the estimate
    est = est or estimate(history, m, n_samples=n_samples, seed=seed, problem=problem)
    doses = dose_events(history)
    end = horizon_days or (max(d for d, *_ in doses) + 56.0)
    t = profile_grid_days(doses, problem.segment_start_days, end)
    # the MAP line and the band's draws in one pass (each row is computed alone: the same numbers
    # as two calls; a call's fixed cost, ~10 ms over a 3-year history, is paid once)
    both = problem.predict(np.vstack([est.map.eta[None, :], est.posterior.eta]), t)
    ipred, band = both[0], both[1:]
    lo, hi = np.quantile(band, [0.1, 0.9], axis=0)
    obs = est.observations
    observed = [
        (float(d), float(q if np.isnan(y) else y), bool(np.isnan(y)))
        for d, y, q in zip(obs.time_days, obs.value_mg_l, obs.lloq_mg_l)
    ]
    return Profile(
        time_days=t.tolist(),
        ipred_mg_l=ipred.tolist(),
        lower_mg_l=lo.tolist(),
        upper_mg_l=hi.tolist(),
        observed=observed,
        dose_days=[d for d, *_ in doses],
        target=target,
    )
