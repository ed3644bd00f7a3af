"""The next dose and interval for a patient: probability of reaching the target, cost,
label flags, rationale and citations.

Pipeline (DESIGN.md): history -> individual model -> posterior (MAP, Laplace, SIR) ->
candidate regimens (label-constrained, whole vials) -> predicted troughs and probability
of target attainment (PTA) -> choice with rationale.

Decisions and their sources:
- Targets: default lower bound 1 mg/L — troughs >= 1 ug/mL go with better ACR/EULAR
  response and DAS28 remission in RA (St Clair 2002, seed S10; RISING, Takeuchi 2009, S11).
  The NOR-DRUM B window 3-8 mg/L (Syversen 2021, S13) is ``Target.window(3, 8)``.
- Stop/switch: anti-drug antibodies >= 50 ug/L (NOR-DRUM B, S13), or ADA with an
  undetectable drug level (Bendtzen 2006, S12: antibodies with low levels mean treatment
  failure) — never escalation.
- "More mg" versus "shorter interval" is shown side by side (St Clair 2002, S10:
  shortening 8 -> 6 weeks raises concentrations more than adding 100 mg).

Assumptions (labelled):
- Candidates: every whole-vial dose from the label's starting 3 mg/kg (rounded up to a
  vial) to the label ceiling at each interval of 4-8 weeks (JP label: 10 mg/kg at 8 weeks,
  6 mg/kg when shortened; minimum 4 weeks). Whole vials avoid waste (100 mg vials).
- The predicted trough is the steady-state trough: the level just before the 4th infusion
  of the candidate regimen (1-compartment t1/2 about 10 days: steady state within two
  8-week intervals). PTA is computed on the true concentration (no assay error).
- The next infusion is due one current interval after the last one (today if overdue);
  during induction (fewer than 3 infusions) the label's induction continues unchanged.
- Default choice: the cheapest candidate with PTA >= 90% (configurable); ties go to the
  longer interval, then the lower dose. When none reaches it, the highest PTA is shown
  with a warning to consider switching.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
from typing import Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator

from ifxdose.core.errors import InputError
from ifxdose.core.pk import default_model_name, load_model
from ifxdose.domain.cost import vial_price
from ifxdose.domain.evidence import get_study
from ifxdose.domain.label import check_infusion, max_dose_mg_per_kg, min_interval_weeks, mtx_flags
from ifxdose.domain.patient import PatientHistory, as_date
from ifxdose.domain.vials import dose_mg
from ifxdose.domain.tdm import Estimate, build_problem, estimate

VIAL_MG = 100  # seed S0: Remicade 100 mg vials
ADA_STOP_UG_L = 50.0  # seed S13: NOR-DRUM B, ADA >= 50 ug/L -> recommend stopping
INTERVALS_WEEKS = (4, 5, 6, 7, 8)  # JP label: shortest 4 weeks, standard 8 (S0; domain/data/label_rules.toml)
INDUCTION_WEEKS = (0, 2, 6)  # seed S0: 3 mg/kg at weeks 0, 2, 6
STEADY_STATE_DOSES = 4  # Assumption: trough before the 4th infusion of a candidate (see module docstring)


class Target(BaseModel):
    """A trough target: a lower bound or a window, with its source."""

    model_config = ConfigDict(extra="forbid")
    kind: Literal["lower", "window"]
    low_mg_l: float = Field(gt=0, le=100)
    high_mg_l: float | None = Field(default=None, gt=0, le=200)
    source: str = ""

    @model_validator(mode="after")
    def _window(self) -> "Target":
        if self.kind == "window" and (self.high_mg_l is None or self.high_mg_l <= self.low_mg_l):
            raise ValueError("a window needs high_mg_l > low_mg_l")
        if self.kind == "lower" and self.high_mg_l is not None:
            raise ValueError("a lower bound has no high_mg_l")
        return self

    @classmethod
    def lower(cls, low_mg_l: float = 1.0, source: str = "") -> "Target":
        return cls(kind="lower", low_mg_l=low_mg_l, source=source or _cite("S10") + "; " + _cite("S11"))

    @classmethod
    def window(cls, low_mg_l: float = 3.0, high_mg_l: float = 8.0, source: str = "") -> "Target":
        return cls(kind="window", low_mg_l=low_mg_l, high_mg_l=high_mg_l, source=source or _cite("S13"))

    @classmethod
    def parse(cls, text: str) -> "Target":
        """'1' (lower bound, mg/L) or '3-8' (window, mg/L)."""
        try:
            if "-" in text:
                lo, hi = (float(x) for x in text.split("-", 1))
                return cls.window(lo, hi, source="user-defined")
            return cls.lower(float(text), source="user-defined")
        except ValueError:
            raise InputError("target", text, "expected a lower bound such as '1' or a window such as '3-8' (mg/L)") from None

    def attained(self, trough_mg_l: np.ndarray) -> np.ndarray:
        ok = trough_mg_l >= self.low_mg_l
        return ok & (trough_mg_l <= self.high_mg_l) if self.high_mg_l is not None else ok

    def text(self) -> str:
        return f">= {self.low_mg_l:g} mg/L" if self.kind == "lower" else f"{self.low_mg_l:g}-{self.high_mg_l:g} mg/L"

    def text_ja(self) -> str:
        return f"{self.low_mg_l:g} mg/L以上" if self.kind == "lower" else f"{self.low_mg_l:g}〜{self.high_mg_l:g} mg/L"


class Option(BaseModel):
    label: str
    dose_mg_per_kg: float
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
    cost_per_year_jpy: int
    label_flags: list[str] = Field(default_factory=list)


class Recommendation(BaseModel):
    action: Literal["infuse", "stop", "switch"]
    chosen: Option | None
    options: list[Option]
    target: Target
    pta_threshold: float
    rationale: str
    rationale_ja: str = ""
    citations: list[str]
    model: str
    model_version: str
    estimation: dict
    warnings: list[str] = Field(default_factory=list)
    warnings_ja: list[str] = Field(default_factory=list, description="the warnings in Japanese, same order")
    inputs_sha256: str
    today: dt.date
    generated_at: dt.datetime


def _cite(tag: str) -> str:
    s = get_study(tag)
    return f"{s.short_citation()} [{s.id}]"


def _current_interval_weeks(history: PatientHistory) -> float:
    days = [as_date(i.date) for i in history.infusions]
    if len(days) >= 4:
        gap = (days[-1] - days[-2]).days / 7.0
        return float(min(max(round(gap), min(INTERVALS_WEEKS)), max(INTERVALS_WEEKS)))
    return 8.0  # label maintenance interval (seed S0)


def _ada_decision(history: PatientHistory) -> tuple[str, str, str, list[str]] | None:
    """Stop/switch when ADA say so; None otherwise."""
    if not history.ada or history.ada[-1].result != "positive":
        return None
    last = history.ada[-1]
    titre = last.titre_ug_l()
    if titre is not None and titre >= ADA_STOP_UG_L:
        return ("stop", f"anti-drug antibodies {titre:g} ug/L on {last.date} are at or above {ADA_STOP_UG_L:g} ug/L: "
                "stop infliximab and switch to another biologic rather than escalate",
                f"{last.date}の抗薬物抗体 {titre:g} µg/L は {ADA_STOP_UG_L:g} µg/L 以上です。増量ではなく、"
                "インフリキシマブを中止して他の生物学的製剤へ切り替えてください。", [_cite("S13")])
    recent = [lv for lv in history.levels if as_date(lv.date) >= last.date - dt.timedelta(days=7)]
    if any(lv.below_lloq for lv in recent):
        return ("switch", f"anti-drug antibodies on {last.date} with an undetectable infliximab level: the drug is "
                "being cleared by antibodies; switch rather than escalate",
                f"{last.date}に抗薬物抗体が陽性で、インフリキシマブ濃度は検出限界未満です。抗体により薬剤が"
                "除去されているため、増量ではなく切り替えを推奨します。", [_cite("S12")])
    return None


NO_OPTION_WARNING = "no label-conform option reaches the PTA threshold: consider switching (S11, S13)"
_WARNINGS_JA = {
    NO_OPTION_WARNING: "添付文書の範囲内で必要な目標達成確率に届く選択肢がありません：切り替えを検討してください（S11、S13）。",
    "no drug levels: the estimate is the population prior": "血中濃度の測定値がないため、推定値は母集団の事前分布です。",
}


def _warnings_ja(warnings: list[str]) -> list[str]:
    """Japanese for the warnings this module knows; others (label texts) are shown as they are."""
    out = []
    for w in warnings:
        if w in _WARNINGS_JA:
            out.append(_WARNINGS_JA[w])
        elif "methotrexate" in w.lower():
            out.append("メトトレキサート（MTX）の併用がありません：添付文書はMTXとの併用を求めています。")
        elif "false negative" in w:
            out.append("薬剤感受性の抗体測定系で陰性ですが、インフリキシマブが存在するため偽陰性の可能性があります。")
        elif "different optima" in w:
            out.append("開始点により異なる最適解に到達しました（最良を採用）：事後分布が多峰性の可能性があります。")
        else:
            out.append(w)
    return out


def _inputs_hash(history: PatientHistory, **params) -> str:
    doc = {"history": history.model_dump(mode="json"), **{k: str(v) for k, v in params.items()}}
    return hashlib.sha256(json.dumps(doc, sort_keys=True).encode()).hexdigest()


def _candidates(weight_kg: float) -> list[tuple[int, float]]:
    first = math.ceil(3.0 * weight_kg / VIAL_MG - 1e-9)  # label starting dose, whole vials
    out = []
    for interval in INTERVALS_WEEKS:
        if interval < min_interval_weeks("jp"):
            continue
        last = math.floor(max_dose_mg_per_kg(interval, "jp") * weight_kg / VIAL_MG + 1e-9)
        out += [(v, float(interval)) for v in range(max(first, 1), last + 1)]
    return out


def _predict_troughs(history, model, est: Estimate, dose_mg_given: float, interval: float, next_day: float,
                     n_doses: int) -> np.ndarray:
    """Posterior troughs just before the n-th future dose of ``dose_mg_given`` every ``interval`` weeks."""
    step = interval * 7.0
    future = [(next_day + j * step, dose_mg_given, 2 / 24, "iv") for j in range(n_doses - 1)]
    problem = build_problem(history, model, future)
    return problem.predict(est.posterior.eta, [next_day + (n_doses - 1) * step])[:, 0]


def recommend(
    history: PatientHistory,
    *,
    model: str | None = None,
    target: Target | None = None,
    today: dt.date | None = None,
    pta_threshold: float = 0.9,
    n_samples: int = 1000,
    seed: int = 0,
) -> Recommendation:
    """Recommend the next infusion (or stop/switch) for this patient."""
    if not 0 < pta_threshold < 1:
        raise InputError("pta_threshold", pta_threshold, "allowed range is (0, 1)")
    m = load_model(model or default_model_name())
    target = target or Target.lower()
    today = today or dt.date.today()
    if not history.infusions:
        raise InputError("infusions", [], "at least one infusion is needed")
    late = [f"{name}[{i}]" for name in ("infusions", "levels") for i, e in enumerate(getattr(history, name))
            if as_date(e.date) > today]
    if late:
        raise InputError(late[0], "after today", f"entries must be dated on or before {today} (the recommendation date)")
    est = estimate(history, m, n_samples=n_samples, seed=seed)
    weight = history.weight_on(today)
    warnings = list(est.warnings)
    citations: list[str] = []
    if not history.on_mtx(today):
        warnings += [f.message for f in mtx_flags(False, "jp")]
    common = dict(target=target, pta_threshold=pta_threshold, model=m.name, model_version=m.version,
                  estimation=est.to_dict(), inputs_sha256=_inputs_hash(history, model=m.name, target=target.text(),
                                                                       today=today, pta=pta_threshold, seed=seed),
                  today=today, generated_at=dt.datetime.now(dt.timezone.utc))
    ada = _ada_decision(history)
    if ada is not None:
        action, why, why_ja, cites = ada
        return Recommendation(action=action, chosen=None, options=[], rationale=why, rationale_ja=why_ja,
                              citations=cites, warnings=warnings, warnings_ja=_warnings_ja(warnings), **common)
    price = int(vial_price("Remicade", today, "JPY").price)
    n_given = len(history.infusions)
    if n_given < len(INDUCTION_WEEKS):
        return _induction(history, m, est, weight, price, target, today, warnings, common)
    last_date = as_date(history.infusions[-1].date)
    current_interval = _current_interval_weeks(history)
    next_date = max(last_date + dt.timedelta(weeks=current_interval), today)
    next_day = history.day_of(next_date)
    options = []
    for vials, interval in _candidates(weight):
        troughs = _predict_troughs(history, m, est, vials * VIAL_MG, interval, next_day, STEADY_STATE_DOSES)
        flags = check_infusion(n_given + 1, vials * VIAL_MG / weight, (next_date - last_date).days / 7.0, "jp")
        options.append(_option(troughs, vials * VIAL_MG, weight, interval, next_date, price, target, flags))
    chosen, rationale, rationale_ja = _choose(options, history, weight, current_interval, target, pta_threshold, warnings)
    citations += [_cite("S0"), *target.source.split("; "), _cite("S10")]
    return Recommendation(action="infuse", chosen=chosen, options=options, rationale=rationale,
                          rationale_ja=rationale_ja, citations=list(dict.fromkeys(citations)), warnings=warnings,
                          warnings_ja=_warnings_ja(warnings), **common)


def _option(troughs, dose_mg_given, weight, interval, next_date, price, target, flags, label="") -> Option:
    q = np.quantile(troughs, [0.5, 0.1, 0.9, 0.025, 0.975])
    vials = math.ceil(dose_mg_given / VIAL_MG - 1e-9)
    return Option(
        label=label, dose_mg_per_kg=round(dose_mg_given / weight, 3), dose_mg=dose_mg_given, vials=vials,
        interval_weeks=interval, next_date=next_date, predicted_trough_median_mg_l=q[0],
        predicted_trough_p10_mg_l=q[1], predicted_trough_p90_mg_l=q[2], predicted_trough_p2_5_mg_l=q[3],
        predicted_trough_p97_5_mg_l=q[4], pta=float(np.mean(target.attained(troughs))),
        cost_per_year_jpy=round(vials * price * 365.25 / (7 * interval)), label_flags=[f.message for f in flags])


def _induction(history, model, est, weight, price, target, today, warnings, common) -> Recommendation:
    """Fewer than three infusions: the label's induction continues unchanged (seed S0)."""
    n_given = len(history.infusions)
    first = as_date(history.infusions[0].date)
    next_date = max(first + dt.timedelta(weeks=INDUCTION_WEEKS[n_given]), today)
    following = INDUCTION_WEEKS[n_given + 1] if n_given + 1 < len(INDUCTION_WEEKS) else INDUCTION_WEEKS[-1] + 8
    gap_weeks = float(following - INDUCTION_WEEKS[n_given])
    dose = dose_mg(3.0, weight)
    troughs = _predict_troughs(history, model, est, dose, gap_weeks, history.day_of(next_date), 2)
    flags = check_infusion(n_given + 1, 3.0, None, "jp")
    option = _option(troughs, dose, weight, gap_weeks, next_date, price, target, flags, label="label induction, recommended")
    why = (f"Induction continues as labelled: 3 mg/kg ({dose:g} mg, {option.vials} vials) on {next_date} "
           f"(weeks 0, 2 and 6, then every 8 weeks); dose changes guided by levels start in maintenance. "
           f"Predicted trough before the following infusion: median {option.predicted_trough_median_mg_l:.2f} mg/L "
           f"(80% interval {option.predicted_trough_p10_mg_l:.2f}-{option.predicted_trough_p90_mg_l:.2f}), "
           f"{option.pta:.0%} probability {target.text()}.")
    why_ja = (f"導入期は添付文書どおり継続します：3 mg/kg（{dose:g} mg、{option.vials}バイアル）を{next_date}に投与"
              f"（0、2、6週、その後8週ごと）。血中濃度に基づく変更は維持期から行います。次回投与前の予測トラフは"
              f"中央値 {option.predicted_trough_median_mg_l:.2f} mg/L（80%区間 {option.predicted_trough_p10_mg_l:.2f}〜"
              f"{option.predicted_trough_p90_mg_l:.2f}）、{target.text_ja()}となる確率 {option.pta:.0%} です。")
    return Recommendation(action="infuse", chosen=option, options=[option], rationale=why, rationale_ja=why_ja,
                          citations=[_cite("S0")], warnings=warnings, warnings_ja=_warnings_ja(warnings), **common)


def _choose(options, history, weight, current_interval, target, threshold, warnings):
    """Label the options, pick one, and write the rationale."""
    last_mg = history.infusions[-1].dose_mg
    current_vials = max(1, math.ceil(last_mg / VIAL_MG - 1e-9))
    for o in options:
        o.label = "current" if (o.vials == current_vials and o.interval_weeks == current_interval) else ""
    ok = [o for o in options if o.pta >= threshold]
    more_mg = min((o for o in ok if o.interval_weeks == current_interval and o.vials > current_vials),
                  key=lambda o: o.vials, default=None)
    shorter = min((o for o in ok if o.interval_weeks < current_interval and o.vials == current_vials),
                  key=lambda o: -o.interval_weeks, default=None)
    if more_mg:
        more_mg.label = (more_mg.label + ", more mg").strip(", ")
    if shorter:
        shorter.label = (shorter.label + ", shorter interval").strip(", ")
    if ok:
        chosen = min(ok, key=lambda o: (o.cost_per_year_jpy, -o.interval_weeks, o.vials))
        why_ja = (f"{chosen.vials * VIAL_MG} mg（{chosen.dose_mg_per_kg:.1f} mg/kg、{chosen.vials}バイアル）を"
                  f"{chosen.next_date}から{chosen.interval_weeks:g}週ごとに投与する案が、定常状態トラフが"
                  f"{target.text_ja()}となる確率 {chosen.pta:.0%} を満たす最も安価な選択肢です（予測中央値 "
                  f"{chosen.predicted_trough_median_mg_l:.2f} mg/L、80%区間 {chosen.predicted_trough_p10_mg_l:.2f}〜"
                  f"{chosen.predicted_trough_p90_mg_l:.2f}）。")
        why = (f"{chosen.vials * VIAL_MG} mg ({chosen.dose_mg_per_kg:.1f} mg/kg, {chosen.vials} vials) every "
               f"{chosen.interval_weeks:g} weeks from {chosen.next_date} is the cheapest option with a "
               f"{chosen.pta:.0%} probability of a steady-state trough {target.text()} "
               f"(predicted median {chosen.predicted_trough_median_mg_l:.2f} mg/L, "
               f"80% interval {chosen.predicted_trough_p10_mg_l:.2f}-{chosen.predicted_trough_p90_mg_l:.2f}).")
    else:
        chosen = max(options, key=lambda o: (o.pta, -o.cost_per_year_jpy))
        why = (f"No option within the label reaches a {threshold:.0%} probability of a trough {target.text()}; "
               f"the best is {chosen.vials * VIAL_MG} mg every {chosen.interval_weeks:g} weeks "
               f"(PTA {chosen.pta:.0%}).")
        why_ja = (f"添付文書の範囲内で、トラフが{target.text_ja()}となる確率 {threshold:.0%} に届く選択肢はありません。"
                  f"最良は {chosen.vials * VIAL_MG} mg を{chosen.interval_weeks:g}週ごと（PTA {chosen.pta:.0%}）です。")
        warnings.append(NO_OPTION_WARNING)
    if more_mg or shorter:
        why += _comparison(more_mg, shorter, "en")
        why_ja += _comparison(more_mg, shorter, "ja")
    chosen.label = (chosen.label + ", recommended").strip(", ")
    return chosen, why, why_ja


#: "More mg" versus "shorter interval" (St Clair 2002, S10), in each language of the clinic.
_COMPARISON = {
    "en": {"more": "more mg ({mg} mg every {weeks:g} weeks: PTA {pta:.0%}, {cost:,} JPY/year)",
           "shorter": "a shorter interval ({mg} mg every {weeks:g} weeks: PTA {pta:.0%}, {cost:,} JPY/year)",
           "frame": " Compared: {parts} (St Clair 2002, S10).", "join": " versus "},
    "ja": {"more": "増量（{mg} mg を{weeks:g}週ごと：PTA {pta:.0%}、年間{cost:,}円）",
           "shorter": "投与間隔の短縮（{mg} mg を{weeks:g}週ごと：PTA {pta:.0%}、年間{cost:,}円）",
           "frame": " 比較：{parts}（St Clair 2002, S10）。", "join": "と"},
}


def _comparison(more_mg: Option | None, shorter: Option | None, language: str) -> str:
    text = _COMPARISON[language]
    parts = [text[key].format(mg=o.vials * VIAL_MG, weeks=o.interval_weeks, pta=o.pta, cost=o.cost_per_year_jpy)
             for key, o in (("more", more_mg), ("shorter", shorter)) if o is not None]
    return text["frame"].format(parts=text["join"].join(parts))


class Profile(BaseModel):
    time_days: list[float]
    ipred_mg_l: list[float]
    lower_mg_l: list[float]
    upper_mg_l: list[float]
    observed: list[tuple[float, float, bool]]
    dose_days: list[float]
    target: Target | None = None


def predict_profile(history: PatientHistory, *, model: str | None = None, horizon_days: float | None = None,
                    n_samples: int = 500, seed: int = 0, target: Target | None = None,
                    est: Estimate | None = None) -> Profile:
    """Individual prediction (MAP) and 80% posterior band over the history, for plots."""
    m = load_model(model or default_model_name())
    est = est or estimate(history, m, n_samples=n_samples, seed=seed)
    doses = history.infusion_doses()
    end = horizon_days or (max(d for d, *_ in doses) + 56.0)
    t = np.unique(np.concatenate([np.arange(0.0, end + 1e-9, 0.5), [d + dur for d, _, dur, _ in doses]]))
    problem = build_problem(history, m)
    ipred = problem.predict(est.map.eta[None, :], t)[0]
    band = problem.predict(est.posterior.eta, t)
    lo, hi = np.quantile(band, [0.1, 0.9], axis=0)
    obs = est.observations
    observed = [(float(d), float(q if np.isnan(y) else y), bool(np.isnan(y)))
                for d, y, q in zip(obs.time_days, obs.value_mg_l, obs.lloq_mg_l)]
    return Profile(time_days=t.tolist(), ipred_mg_l=ipred.tolist(), lower_mg_l=lo.tolist(), upper_mg_l=hi.tolist(),
                   observed=observed, dose_days=[d for d, *_ in doses], target=target)
