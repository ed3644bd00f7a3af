"""The seed's trials as data: arms (with the policy each replays) and modelled quantities.

Each :class:`Quantity` pairs a simulated metric with the published evidence outcome it is
compared with (``Ref``: study key, outcome name, arm, time point) and a role:
``calibration`` (the models were fitted to it: agreement is expected, not evidence),
``prediction`` (out of sample), ``input`` (a population input read back), ``simulated``
(no published value), or ``not modelled`` (published, but nothing in the models
produces it; listed so the table shows what is missing).
Arm sizes come from the evidence base. Days: week w is day 7w.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ifxdose.core.errors import InputError
from ifxdose.domain.evidence import get_study
from ifxdose.domain.trials import metrics as M
from ifxdose.domain.trials.metrics import Metric

ROLES = ("calibration", "prediction", "input", "simulated", "not modelled")

#: The ADA assay behind each study's ADA figures (engine.ASSAY_DRUG_TOLERANCE_MG_L). Assumption for
#: every entry: the seed and the stored abstracts do not name the assays. The sponsor trials of the
#: 1990s-2000s (ATTRACT, START, ASPIRE) and the 1994 cA2 studies used antigen-capture/bridging EIAs
#: that miss antibodies bound by drug (drug-sensitive); NOR-DRUM B's ADA threshold (>= 50 ug/L, S13)
#: is of a drug-sensitive in-house assay; Bendtzen 2006 (S12) used a fluid-phase radioimmunoassay,
#: taken as drug-tolerant (its high incidence, 44 % by month 6, is the other end of the seed's range).
ASSAYS = {
    "attract": "drug-sensitive",
    "rahman2007": "drug-sensitive",
    "aspire": "drug-sensitive",
    "elliott1994repeat": "drug-sensitive",
    "nor-drum-b": "drug-sensitive",
    "bendtzen2006": "drug-tolerant",
}


@dataclass(frozen=True)
class Ref:
    study: str
    outcome: str
    arm: str | None
    time_point: str | None = None


@dataclass(frozen=True)
class Quantity:
    label: str
    metric: Metric | None
    ref: Ref | None = None
    role: str = "prediction"
    unit: str = "%"
    check: str = "interval"  # "interval": published value/range vs the 95 % interval; "positive": interval > 0
    note: str = ""


@dataclass(frozen=True)
class ArmSpec:
    name: str  # the evidence arm (its n is the default size)
    kind: str  # placebo | fixed | start | tdm | standard-maintenance | programmed
    regimen: str | None = None
    policy: str | None = None
    label: str = ""  # short label in plots
    population: str | None = None  # an arm-specific virtual population (default: the trial's)


@dataclass(frozen=True)
class Trial:
    name: str
    study: str
    title: str
    population: str
    horizon_day: float
    arms: tuple[ArmSpec, ...]
    response_days: tuple[float, ...]
    trough_days: tuple[float, ...]
    quantities: tuple[Quantity, ...]
    entry_day: float = 0.0
    notes: tuple[str, ...] = field(default_factory=tuple)
    ada_assay: str = "drug-tolerant"  # how the study's ADA figures were measured (engine.ASSAY_DRUG_TOLERANCE_MG_L)

    def arm_n(self, arm: ArmSpec) -> int:
        n = next((a.n for a in get_study(self.study).arms if a.name == arm.name), None)
        if n is None:
            raise InputError("arm", arm.name, f"the evidence record {self.study} gives no n for this arm")
        return int(n)


def _evidence_regimen(study: str, arm: str, variant: str | None = None) -> str:
    a = next(x for x in get_study(study).arms if x.name == arm)
    return next(v.regimen for v in a.variants if v.when == variant) if variant else a.regimen  # type: ignore[return-value]


ACRN_NOTE = (
    "ACR-N from the latent response scale through the calibrated ACR20 and ACR50 "
    "thresholds (domain/trials/endpoints.py; Assumption: linear in the percentage). ASPIRE: patients start "
    "MTX with the drug (background fraction calibrated on the MTX + placebo arm's median only)."
)


def _continuous_rows(arm: str, day: float) -> list[Quantity]:
    """Simulated ACR70, mean DAS28-CRP, DAS28-CRP remission and EULAR response (no published value)."""
    w = f"week {day / 7:g}"
    rows = [
        ("ACR70", M.pct(arm, f"acr70@{day:g}"), "%"),
        ("mean DAS28-CRP", M.mean(arm, f"das28_crp@{day:g}"), "DAS28"),
        ("DAS28-CRP < 2.6", M.pct(arm, f"das28_crp_remission@{day:g}"), "%"),
        ("EULAR good or moderate (DAS28-CRP)", M.pct(arm, f"eular_response@{day:g}"), "%"),
        ("EULAR good (DAS28-CRP)", M.pct(arm, f"eular_good@{day:g}"), "%"),
    ]
    return [Quantity(f"{label} {w}", metric, Ref("", "", arm), "simulated", unit) for label, metric, unit in rows]


def _not_modelled(label: str, ref: Ref, why: str) -> Quantity:
    return Quantity(label, None, ref, "not modelled", note=why)


NO_PAULUS = "The Paulus criteria are not modelled (ACR20/50/70, ACR-N and remission are)."
NO_SAFETY = "Adverse events and infections are not modelled."
XRAY_NOTE = (
    "mTSS change from the patient's CRP course above 10 mg/L and a direct inhibition by the effect-site "
    "concentration (core/progression.py; docs/trials.md, Radiographic progression)."
)


def _attract_radiographic_rows(ifx: tuple[str, ...]) -> list[Quantity]:
    """ATTRACT's mTSS figures (Lipsky 2000) and the S9/S10 sub-analyses (Smolen 2005, St Clair 2002)."""
    pbo, key = "placebo + MTX", "mtss@378"
    acr = M.key_true("acr20@378")
    nonresp = M.key_false("acr20@378")
    return [
        Quantity(
            "mean change in modified Sharp score week 54",
            M.pooled_mean((pbo,), key),
            Ref("lipsky2000", "mean change in modified Sharp score", pbo, "week 54"),
            "calibration",
            "points",
            note=XRAY_NOTE + " Calibrates the damage rate.",
        ),
        Quantity(
            "mean change in modified Sharp score week 54, infliximab pooled",
            M.pooled_mean(ifx, key),
            Ref("lipsky2000", "mean change in modified Sharp score", "infliximab (all arms)", "week 54"),
            "calibration",
            "points",
            note=XRAY_NOTE + " Calibrates the IC50 of the direct inhibition.",
        ),
        Quantity(
            "week-54 trough vs less mTSS progression: one-sided p",
            M.association_p_value(ifx, "measured@378", "mtss_neg@378"),
            Ref("stclair2002", "trough vs TSS progression p-value", "infliximab (all arms)", "week 54"),
            unit="p-value",
            note="Spearman correlation of the measured week-54 trough with minus the mTSS change, infliximab "
            "arms pooled (Assumption: the test).",
        ),
        Quantity(
            "mean mTSS change among ACR20 non-responders: MTX minus infliximab (points)",
            M.difference(M.pooled_mean((pbo,), key, nonresp), M.pooled_mean(ifx, key, nonresp)),
            Ref(
                "smolen2005",
                "radiographic progression p-value among ACR20 non-responders, IFX vs MTX",
                "ACR20 non-responders on infliximab + MTX",
                "week 54",
            ),
            unit="points",
            check="positive",
            note="Direction check (S9: infliximab halts progression in ACR20 non-responders): consistent when "
            "the whole 95 % interval of the difference is above 0.",
        ),
        Quantity(
            "baseline CRP vs mTSS change on MTX: one-sided p",
            M.association_p_value((pbo,), "crp0_mg_l", key),
            Ref("smolen2005", "CRP correlation with progression p-value", pbo, "week 54"),
            unit="p-value",
            note="Spearman, baseline CRP (Assumption: the CRP S9 correlated).",
        ),
        Quantity(
            "baseline CRP vs mTSS change on infliximab: one-sided p",
            M.association_p_value(ifx, "crp0_mg_l", key),
            Ref("smolen2005", "CRP correlation with progression p-value", "infliximab (all arms)", "week 54"),
            unit="p-value",
            note="Spearman, baseline CRP, infliximab arms pooled.",
        ),
        Quantity(
            "mean mTSS change week 54, ACR20 responders on MTX",
            M.pooled_mean((pbo,), key, acr),
            Ref(
                "smolen2005",
                "mean change in modified Sharp/van der Heijde score",
                "ACR20 responders on MTX + placebo",
                "week 54",
            ),
            unit="points",
        ),
        Quantity(
            "mean mTSS change week 54, ACR20 non-responders on MTX",
            M.pooled_mean((pbo,), key, nonresp),
            Ref(
                "smolen2005",
                "mean change in modified Sharp/van der Heijde score",
                "ACR20 non-responders on MTX + placebo",
                "week 54",
            ),
            unit="points",
        ),
    ]


def _aspire_radiographic_rows(ifx: tuple[str, ...]) -> list[Quantity]:
    """S8 (Smolen 2006): mean mTSS change in the highest baseline CRP (>= 30 mg/L) and ESR (>= 52 mm/h)
    tertiles, MTX alone and infliximab (3 and 6 mg/kg pooled)."""
    pbo, key = "MTX + placebo", "mtss@378"
    rows = []
    for label, cov, cut in (
        ("CRP tertile (≥3 mg/dL)", "crp0_mg_l", 30.0),
        ("ESR tertile (≥52 mm/h)", "esr0_mm_h", 52.0),
    ):
        among = M.key_at_least(cov, cut)
        for arm, arms in ((pbo, (pbo,)), ("infliximab + MTX", ifx)):
            rows.append(
                Quantity(
                    f"mean change in Sharp score week 54, highest {label}",
                    M.pooled_mean(arms, key, among),
                    Ref("smolen2006", f"mean change in Sharp/van der Heijde score, highest {label}", arm, "week 54"),
                    unit="points",
                    note=XRAY_NOTE + " Subgroup by the virtual patients' baseline value.",
                )
            )
    return rows


def _simulated_arm_rows(
    arms: tuple[str, ...], day: int, cost_label: str = "drug cost per patient (JPY, 2022 price)"
) -> list[Quantity]:
    rows = []
    for a in arms:
        rows += [
            Quantity(f"ADA incidence by day {day}", M.pct(a, "ada"), Ref("", "", a), "simulated"),
            Quantity(
                f"median trough day {day} (mg/L)", M.median(a, f"measured@{day}"), Ref("", "", a), "simulated", "mg/L"
            ),
            Quantity(cost_label, M.mean(a, "cost_jpy"), Ref("", "", a), "simulated", "JPY"),
        ]
    return rows


# ------------------------------------------------------------------------------ ATTRACT
def attract() -> Trial:
    ifx = ("3 mg/kg q8w", "3 mg/kg q4w", "10 mg/kg q8w", "10 mg/kg q4w")
    policy = {
        "3 mg/kg q8w": "attract-3q8",
        "3 mg/kg q4w": "attract-3q4",
        "10 mg/kg q8w": "attract-10q8",
        "10 mg/kg q4w": "attract-10q4",
    }
    arms = (ArmSpec("placebo + MTX", "placebo", label="placebo"),) + tuple(
        ArmSpec(a, "fixed", _evidence_regimen("attract", a), policy[a], a.replace(" mg/kg ", "")) for a in ifx
    )
    q: list[Quantity] = []
    for a in ("placebo + MTX",) + ifx:
        q.append(Quantity("ACR20 week 30", M.pct(a, "acr20@210"), Ref("attract", "ACR20", a, "week 30"), "calibration"))
    q.append(
        Quantity(
            "ACR20 week 30, infliximab pooled",
            M.pooled_pct(ifx, "acr20@210"),
            Ref("attract", "ACR20", "infliximab (all arms)", "week 30"),
            "calibration",
        )
    )
    q.append(
        Quantity(
            "ACR20 week 30, MTX alone",
            M.pct("placebo + MTX", "acr20@210"),
            Ref("attract", "ACR20", "MTX alone (pooled comparison)", "week 30"),
            "calibration",
        )
    )
    for a in ifx:
        q.append(
            Quantity(
                "ACR20 odds ratio vs MTX + placebo",
                M.odds_ratio(a, "placebo + MTX", "acr20@210"),
                Ref("attract", "ACR20 odds ratio vs MTX + placebo", a, "week 30"),
                unit="OR",
            )
        )
    q.append(
        Quantity(
            "ACR20 week 54, infliximab pooled",
            M.pooled_pct(ifx, "acr20@378"),
            Ref("lipsky2000", "clinical response (ACR20)", "infliximab (all arms)", "week 54"),
        )
    )
    q.append(
        Quantity(
            "ACR20 week 54, MTX + placebo",
            M.pct("placebo + MTX", "acr20@378"),
            Ref("lipsky2000", "clinical response (ACR20)", "placebo + MTX", "week 54"),
        )
    )
    for a in ifx[:3]:
        q.append(
            Quantity(
                "trough undetectable (< 0.1 mg/L) at week 54",
                M.pct(a, "undetectable@378"),
                Ref("stclair2002", "trough below the limit of detection", a, "through week 54"),
                note="Published: range over visits to week 54; simulated: the week-54 trough.",
            )
        )
    q.append(
        Quantity(
            "patients with undetectable trough at week 54",
            M.count("10 mg/kg q4w", "undetectable@378"),
            Ref("stclair2002", "trough below the limit of detection", "10 mg/kg q4w", "through week 54"),
            unit="count",
        )
    )
    q.append(
        Quantity(
            "trough undetectable at week 54",
            M.pct("3 mg/kg q8w", "undetectable@378"),
            Ref("stclair2002", "trough below the limit of detection", "3 mg/kg q8w", "week 54"),
        )
    )
    q.append(
        Quantity(
            "ACR20 week 54: trough >= 1 minus < 1 mg/L (points)",
            M.pooled_difference(ifx, "acr20@378", M.key_at_least("measured@378", 1.0)),
            Ref("stclair2002", "trough associated with higher ACR response", "infliximab (all arms)", "trough"),
            unit="percentage points",
            check="positive",
            note="Consistent when the whole 95 % interval of the difference is above 0.",
        )
    )
    q.append(
        Quantity(
            "week-54 trough vs CRP decrease: one-sided p of a positive association",
            M.association_p_value(ifx, "measured@378", "crp_fall_pct@378"),
            Ref("stclair2002", "trough vs CRP decrease p-value", "infliximab (all arms)", "week 54"),
            unit="p-value",
            note="Inflammation over time (engine.CRP_IMAX), not fitted: Spearman correlation of the measured "
            "week-54 trough with the CRP fall (% of baseline), infliximab arms pooled (Assumption: the test).",
        )
    )
    for a in ("placebo + MTX",) + ifx:
        q.append(Quantity("ACR50 week 30", M.pct(a, "acr50@210"), Ref("attract", "ACR50", a, "week 30"), "calibration"))
    q.append(
        _not_modelled(
            "infusion reactions", Ref("attract", "infusion reactions", "infliximab (all arms)", "weeks 0-30"), NO_SAFETY
        )
    )
    for a in ("placebo + MTX", "infliximab (all arms)"):
        q.append(_not_modelled("serious infections", Ref("lipsky2000", "serious infections", a, "week 54"), NO_SAFETY))
    q += _attract_radiographic_rows(ifx)
    q += _simulated_arm_rows(ifx, 378)
    return Trial(
        "attract",
        "attract",
        "ATTRACT (Maini 1999, Lipsky 2000, St Clair 2002): 3/10 mg/kg q4w/q8w vs MTX + placebo",
        "attract",
        378.0,
        arms,
        (210.0, 378.0),
        (378.0,),
        tuple(q),
        ada_assay=ASSAYS["attract"],
    )


# ------------------------------------------------------------------------------ START
def start() -> Trial:
    arm = "3 mg/kg with escalation by 1.5 mg/kg"
    arms = (
        ArmSpec(arm, "start", _evidence_regimen("rahman2007", arm, "never escalated"), "start-escalation", "START"),
    )
    q = [
        Quantity(
            f"ACR20 week {w}", M.pct(arm, f"acr20@{7 * w}"), Ref("rahman2007", "ACR20", arm, f"week {w}"), "calibration"
        )
        for w in (2, 6, 14, 22)
    ]
    q += [
        Quantity(
            "dose escalated", M.pct(arm, "escalated"), Ref("rahman2007", "dose escalated", arm, "week 22 or later")
        ),
        Quantity(
            "stayed on 3 mg/kg",
            M.complement(M.pct(arm, "escalated")),
            Ref("rahman2007", "stayed on 3 mg/kg", arm, "week 54 (one year)"),
        ),
        Quantity(
            "TJC+SJC improved >= 20 % at week 54 among escalated 1-3 times",
            M.pct(arm, "jc20@378", M.key_between("escalations", 1.0, 3.0)),
            Ref(
                "rahman2007",
                "responded after escalation (20% TJC/SJC improvement)",
                "escalated",
                "after the last escalation",
            ),
            note=(
                "Denominator as Rahman 2007's abstract defines the figure (session 7): the patients 'who received "
                "up to three dose escalations' (the seed: all escalated). Assumption: response after escalation = "
                "assessed TJC28+SJC28 improved >= 20 % at week 54."
            ),
        ),
        Quantity(
            "TJC+SJC improved >= 20 % at week 54 among primary non-responders",
            M.pct(arm, "jc20@378", M.key_true("escalated_primary")),
            Ref(
                "rahman2007",
                "responded after escalation (20% TJC/SJC improvement)",
                "primary non-responders",
                "after the last escalation",
            ),
        ),
        Quantity(
            "TJC+SJC improved >= 20 % at week 54 among secondary non-responders",
            M.pct(arm, "jc20@378", M.key_true("escalated_secondary")),
            Ref(
                "rahman2007",
                "responded after escalation (20% TJC/SJC improvement)",
                "secondary non-responders",
                "after the last escalation",
            ),
        ),
        Quantity(
            "median trough week 46 without escalation (mg/L)",
            M.median(arm, "measured@322", M.key_false("escalated")),
            Ref(
                "rahman2007",
                "infliximab concentration without escalation",
                "not escalated",
                "maintenance (pre-infusion)",
            ),
            unit="mg/L",
        ),
        Quantity(
            "ADA by week 54, escalated",
            M.pct(arm, "ada", M.key_true("escalated")),
            Ref("rahman2007", "anti-infliximab antibodies", "escalated", "study period (one year)"),
            note="Calibrated pooled with the non-escalated group (docs/trials.md); the split is a prediction.",
        ),
        Quantity(
            "ADA by week 54, not escalated",
            M.pct(arm, "ada", M.key_false("escalated")),
            Ref("rahman2007", "anti-infliximab antibodies", "not escalated", "study period (one year)"),
        ),
        Quantity(
            "ADA among patients escalated 4 times",
            M.pct(arm, "ada", M.key_is("escalations", 4.0)),
            Ref(
                "rahman2007",
                "anti-infliximab antibodies",
                "escalated at weeks 22, 30, 38, 46",
                "study period (one year)",
            ),
            note="Published 1 of 7, compared as a %.",
        ),
    ]
    q += _simulated_arm_rows((arm,), 378)
    return Trial(
        "start",
        "rahman2007",
        "START (Rahman 2007): 3 mg/kg with +1.5 mg/kg escalation for non-response",
        "start",
        378.0,
        arms,
        (14.0, 42.0, 98.0, 154.0, 378.0),
        (322.0, 378.0),
        tuple(q),
        ada_assay=ASSAYS["rahman2007"],
    )


# ------------------------------------------------------------------------------ ASPIRE
def aspire() -> Trial:
    ifx = ("MTX + 3 mg/kg q8w", "MTX + 6 mg/kg q8w")
    pops = {"MTX + placebo": "aspire-placebo", "MTX + 3 mg/kg q8w": "aspire-3", "MTX + 6 mg/kg q8w": "aspire-6"}
    arms = (ArmSpec("MTX + placebo", "placebo", label="placebo", population=pops["MTX + placebo"]),) + tuple(
        ArmSpec(a, "fixed", _evidence_regimen("aspire", a), label=a.split("+ ")[1], population=pops[a]) for a in ifx
    )
    q = [
        Quantity(
            "ADA by week 54", M.pct(a, "ada"), Ref("aspire", "anti-infliximab antibodies", a, "week 54"), "calibration"
        )
        for a in ifx
    ]
    for a in ("MTX + placebo",) + ifx:
        q.append(
            Quantity(
                "mean MTX dose (mg/week)",
                M.mean(a, "mtx_dose_mg_week"),
                Ref("aspire", "mean MTX dose", a, "week 54"),
                "input",
                "mg/week",
                note="A population input (data/population.toml), read back.",
            )
        )
        q.append(
            _not_modelled(
                "reached MTX 20 mg/week",
                Ref("aspire", "reached MTX 20 mg/week", a, "week 54"),
                "MTX titration over time is not modelled (one MTX dose per patient).",
            )
        )
        q.append(
            Quantity(
                "median ACR-N week 54",
                M.median(a, "acrn@378"),
                Ref("aspire", "median ACR-N", a, "week 54"),
                "calibration" if a == "MTX + placebo" else "prediction",
                unit="%",
                note=ACRN_NOTE,
            )
        )
        q.append(
            Quantity(
                "mean change in Sharp score week 54",
                M.pooled_mean((a,), "mtss@378"),
                Ref("aspire", "mean change in van der Heijde-modified Sharp score", a, "week 54"),
                unit="points",
                note=XRAY_NOTE + " ASPIRE: MTX-naive early RA; no MTX effect on damage is modelled.",
            )
        )
        q.append(_not_modelled("serious infections", Ref("aspire", "serious infections", a, "week 54"), NO_SAFETY))
        q.append(Quantity("ACR20 week 54", M.pct(a, "acr20@378"), Ref("", "", a), "simulated"))
    q += _aspire_radiographic_rows(ifx)
    q += _simulated_arm_rows(ifx, 378)
    return Trial(
        "aspire",
        "aspire",
        "ASPIRE (St Clair 2004): MTX-naive early RA, MTX + placebo / 3 / 6 mg/kg q8w",
        "aspire",
        378.0,
        arms,
        (378.0,),
        (378.0,),
        tuple(q),
        ada_assay=ASSAYS["aspire"],
    )


# ------------------------------------------------------------------------------ RISING
def rising() -> Trial:
    names = ("3 mg/kg q8w", "6 mg/kg q8w", "10 mg/kg q8w")
    arms = tuple(
        ArmSpec(a, "fixed", _evidence_regimen("rising", a), f"rising-{a.split()[0]}", a.split()[0] + " mg/kg")
        for a in names
    )
    q = [
        Quantity(
            "median trough week 54 in TNF-low, 3 mg/kg (mg/L)",
            M.median("3 mg/kg q8w", "measured@378", M.key_is("tnf_tier", "low")),
            Ref("rising-tnf", "trough at 3 mg/kg in TNF-low", "TNF-low", "week 54 trough"),
            unit="mg/L",
        ),
        Quantity(
            "median trough week 54 in TNF-high, 10 mg/kg (mg/L)",
            M.median("10 mg/kg q8w", "measured@378", M.key_is("tnf_tier", "high")),
            Ref("rising-tnf", "median trough at 10 mg/kg in TNF-high", "TNF-high", "week 54 trough"),
            unit="mg/L",
            note="TNF raises CL (ifxdose_ra_mbma); 10 mg/kg keeps TNF-high troughs above the ADA-risk range.",
        ),
        Quantity(
            "median trough week 54 in TNF-high, 3 mg/kg (mg/L)",
            M.median("3 mg/kg q8w", "measured@378", M.key_is("tnf_tier", "high")),
            Ref("rising-tnf", "median trough at 3 mg/kg in TNF-high", "TNF-high", "week 54 trough"),
            unit="mg/L",
            note="Mechanism, not fitted: TNF -> CL -> low troughs -> ADA -> titre-dependent CL -> undetectable.",
        ),
        Quantity(
            "median trough week 54 in TNF-high, 6 mg/kg (mg/L)",
            M.median("6 mg/kg q8w", "measured@378", M.key_is("tnf_tier", "high")),
            Ref("rising-tnf", "median trough at 6 mg/kg in TNF-high", "TNF-high", "week 54 trough"),
            unit="mg/L",
            note="Mechanism, not fitted (as the 3 mg/kg row).",
        ),
        Quantity(
            "TNF-high at baseline",
            M.pooled_pct(names, "tnf_tier_high"),
            Ref("rising-tnf", "share of patients with high baseline TNF-α", "TNF-high", "baseline"),
            "input",
        ),
        Quantity(
            "mean ACR-N week 54, 3 mg/kg",
            M.mean("3 mg/kg q8w", "acrn@378"),
            Ref("rising", "mean ACR-N", "3 mg/kg q8w", "week 54"),
            unit="%",
            note=ACRN_NOTE,
        ),
        Quantity(
            "mean ACR-N week 54, 10 mg/kg",
            M.mean("10 mg/kg q8w", "acrn@378"),
            Ref("rising", "mean ACR-N", "10 mg/kg q8w", "week 54"),
            unit="%",
            note=ACRN_NOTE,
        ),
        _not_modelled(
            "EULAR non-responders at week 10",
            Ref("rising", "EULAR non-responders to 3 mg/kg at week 10", "EULAR non-responders at week 10", "week 10"),
            "A count (38) without its denominator in the seed or the abstract: not comparable with a simulated "
            "EULAR share (EULAR response is simulated since issue 12: rows below).",
        ),
    ]
    for a in names:
        q.append(Quantity("ACR20 week 54", M.pct(a, "acr20@378"), Ref("", "", a), "simulated"))
        q.append(Quantity("SDAI remission week 54", M.pct(a, "sdai_remission@378"), Ref("", "", a), "simulated"))
        q += _continuous_rows(a, 378)
    q += _simulated_arm_rows(names, 378)
    return Trial(
        "rising",
        "rising",
        "RISING (Takeuchi 2009, 2011): Japan, 3 vs 6 vs 10 mg/kg q8w from week 14",
        "rising",
        378.0,
        arms,
        (378.0,),
        (378.0,),
        tuple(q),
    )


# ------------------------------------------------------------------------------ Elliott
def elliott1993() -> Trial:
    names = ("10 mg/kg x2 (patients 1-5, 11-20)", "5 mg/kg x4 (patients 6-10)")
    arms = tuple(ArmSpec(a, "fixed", _evidence_regimen("elliott1993", a), label=a.split(" (")[0]) for a in names)
    q = [
        _not_modelled(
            "50% improvement", Ref("elliott1993", "50% improvement in the endpoints", None, "weeks 0-8"), NO_PAULUS
        ),
        Quantity(
            "CRP normalised (of patients with high CRP)",
            M.pooled_pct(names, "crp_normalised", M.key_true("crp_high")),
            Ref("elliott1993", "CRP normalised (patients with high CRP)", None, "weeks 0-8"),
            note="Inflammation over time (engine.CRP_IMAX), not fitted: high = CRP > 10 mg/L at baseline, "
            "normalised = <= 10 mg/L at some day of weeks 0-8 (Assumption: the upper limit of normal).",
        ),
        _not_modelled(
            "serious adverse events", Ref("elliott1993", "serious adverse events", None, "weeks 0-8"), NO_SAFETY
        ),
    ]
    for a in names:
        q.append(Quantity("ACR20 week 4 (no MTX)", M.pct(a, "acr20@28"), Ref("", "", a), "simulated"))
        q.append(Quantity("ADA by week 8", M.pct(a, "ada"), Ref("", "", a), "simulated"))
        q.append(
            Quantity("median level week 8 (mg/L)", M.median(a, "measured@56"), Ref("", "", a), "simulated", "mg/L")
        )
    return Trial(
        "elliott1993",
        "elliott1993",
        "Elliott 1993: open label, 10 mg/kg x2 or 5 mg/kg x4 (no DMARDs)",
        "elliott1993",
        56.0,
        arms,
        (28.0,),
        (56.0,),
        tuple(q),
    )


def elliott1994() -> Trial:
    names = ("placebo", "cA2 1 mg/kg", "cA2 10 mg/kg")
    arms = (ArmSpec("placebo", "placebo", label="placebo"),) + tuple(
        ArmSpec(a, "fixed", _evidence_regimen("elliott1994", a), label=a.split()[1] + " mg/kg") for a in names[1:]
    )
    why = (
        "Assumption: Paulus 20 % is compared with the ACR20 model; the placebo arm (no MTX) gets the "
        "MTX + placebo intercept."
    )
    q = [
        Quantity(
            "Paulus 20% ~ ACR20, week 4",
            M.pct(a, "acr20@28"),
            Ref("elliott1994", "Paulus 20% response", a, "week 4"),
            note=why,
        )
        for a in names
    ]
    q.append(
        Quantity(
            "Paulus 50% ~ ACR50, week 4",
            M.pct("cA2 10 mg/kg", "acr50@28"),
            Ref("elliott1994", "Paulus 50% response", "cA2 10 mg/kg", "week 4"),
            note="Assumption: Paulus 50 % is compared with the ACR50 model (intercept from ATTRACT).",
        )
    )
    return Trial(
        "elliott1994",
        "elliott1994",
        "Elliott 1994: single 1 or 10 mg/kg infusion vs placebo",
        "elliott1994",
        28.0,
        arms,
        (28.0,),
        (28.0,),
        tuple(q),
    )


def _setup_target(study: str) -> dict[str, Any]:
    from ifxdose.domain.trials.calibrate import load_setup

    return next(t for t in load_setup()["immunogenicity"]["targets"] if t["study"] == study)


def elliott1994repeat() -> Trial:
    t = _setup_target("elliott1994repeat")
    arms = (ArmSpec("repeated cA2", "fixed", t["regimen"], label="repeated"),)
    q = (
        Quantity(
            f"ADA by day {t['day']:g}",
            M.pct("repeated cA2", "ada"),
            Ref("elliott1994repeat", "anti-cA2 antibodies", None, "retreatment period"),
            note=t["assumption"],
        ),
    )
    return Trial(
        "elliott1994repeat",
        "elliott1994repeat",
        "Elliott 1994: repeated cA2 cycles (antibodies)",
        "elliott1994repeat",
        float(t["day"]),
        arms,
        (),
        (float(t["day"]),),
        q,
        ada_assay=ASSAYS["elliott1994repeat"],
    )


# ------------------------------------------------------------------------------ NOR-DRUM B
def nor_drum_b() -> Trial:
    t = _setup_target("nor-drum-b")
    tdm, std = "proactive TDM", "standard care"
    arms = (
        ArmSpec(tdm, "tdm", t["regimen"], "nordrum-tdm", "TDM"),
        ArmSpec(std, "standard-maintenance", t["regimen"], "label", "standard"),
    )
    end = int(t["day"])
    q = [
        Quantity(
            "ADA during 52 weeks",
            M.pct(std, "ada"),
            Ref("nor-drum-b", "anti-drug antibodies", std, "weeks 0-52"),
            "calibration",
        ),
        Quantity(
            "ADA during 52 weeks", M.pct(tdm, "ada"), Ref("nor-drum-b", "anti-drug antibodies", tdm, "weeks 0-52")
        ),
    ]
    for a, ra in ((tdm, "RA, TDM"), (std, "RA, standard care")):
        q.append(
            _not_modelled(
                "sustained disease control",
                Ref("nor-drum-b", "sustained disease control without worsening", a, "weeks 0-52"),
                "Disease worsening over time is not modelled.",
            )
        )
        q.append(
            _not_modelled(
                "sustained disease control, RA",
                Ref("nor-drum-b", "sustained disease control without worsening", ra, "weeks 0-52"),
                "Disease worsening over time is not modelled.",
            )
        )
    q.append(
        _not_modelled(
            "hazard ratio, time to worsening",
            Ref("nor-drum-b", "hazard ratio for time to disease worsening", std, "weeks 0-52"),
            "Disease worsening over time is not modelled.",
        )
    )
    q += [
        Quantity("stopped for ADA (switch)", M.pct(tdm, "switched"), Ref("", "", tdm), "simulated"),
        Quantity("final dose > 3 mg/kg", M.pct(tdm, "dose_raised"), Ref("", "", tdm), "simulated"),
        Quantity("final interval < 8 weeks", M.pct(tdm, "interval_shortened"), Ref("", "", tdm), "simulated"),
    ]
    for a in (tdm, std):
        q += [
            Quantity(f"trough in 3-8 mg/L at day {end}", M.pct(a, "in_range_end"), Ref("", "", a), "simulated"),
            Quantity(
                "drug cost per patient in the 52 weeks (JPY)", M.mean(a, "cost_jpy"), Ref("", "", a), "simulated", "JPY"
            ),
        ]
    return Trial(
        "nor-drum-b",
        "nor-drum-b",
        "NOR-DRUM B (Syversen 2021): proactive TDM vs standard maintenance",
        "nor-drum-b",
        float(end),
        arms,
        (),
        (float(end),),
        tuple(q),
        entry_day=float(t["entry_day"]),
        notes=(t["assumption"],),
        ada_assay=ASSAYS["nor-drum-b"],
    )


# ------------------------------------------------------------------------------ RRRR
def rrrr() -> Trial:
    std, prog = "standard", "programmed"
    arms = (
        ArmSpec(std, "fixed", _evidence_regimen("rrrr", std), "rrrr-standard", "standard"),
        ArmSpec(prog, "programmed", _evidence_regimen("rrrr", std), "rrrr-programmed", "programmed"),
    )
    q = [
        Quantity(
            "SDAI remission week 54",
            M.pct(std, "sdai_remission@378"),
            Ref("rrrr", "SDAI remission", std, "week 54"),
            "calibration",
        ),
        Quantity(
            "SDAI remission week 54", M.pct(prog, "sdai_remission@378"), Ref("rrrr", "SDAI remission", prog, "week 54")
        ),
        Quantity(
            "DAS28-ESR remission week 54",
            M.pct(std, "das28_esr_remission@378"),
            Ref("rrrr", "DAS28-ESR remission", std, "week 54"),
            "calibration",
        ),
        Quantity(
            "DAS28-ESR remission week 54",
            M.pct(prog, "das28_esr_remission@378"),
            Ref("rrrr", "DAS28-ESR remission", prog, "week 54"),
        ),
    ]
    for a in (std, prog):
        q.append(
            _not_modelled(
                "sustained discontinuation 1 year after stopping",
                Ref("rrrr", "sustained discontinuation 1 year after stopping", a, "week 106"),
                "Flare after stopping is not modelled.",
            )
        )
    q.append(
        _not_modelled(
            "OR of sustained discontinuation for SDAI < 26",
            Ref("rrrr", "odds ratio of sustained discontinuation for baseline SDAI <26.0", prog, "week 106"),
            "Flare after stopping is not modelled.",
        )
    )
    q.append(Quantity("TNF-high at baseline", M.pct(prog, "tnf_tier_high"), Ref("", "", prog), "input"))
    for a in (std, prog):  # the tiers' exposure: TNF raises CL (ifxdose_ra_mbma); no published tier troughs
        for tier in ("low", "intermediate", "high"):
            q.append(
                Quantity(
                    f"median trough week 54, TNF-{tier} (mg/L)",
                    M.median(a, "measured@378", M.key_is("tnf_tier", tier)),
                    Ref("", "", a),
                    "simulated",
                    "mg/L",
                )
            )
    q += _simulated_arm_rows((std, prog), 378)
    return Trial(
        "rrrr",
        "rrrr",
        "RRRR (Tanaka 2020): TNF-programmed vs standard dosing, stop at week 54 in SDAI remission",
        "rrrr",
        378.0,
        arms,
        (378.0,),
        (378.0,),
        tuple(q),
    )


_TRIALS = {
    f.__name__.replace("_", "-"): f
    for f in (elliott1993, elliott1994, elliott1994repeat, attract, start, aspire, rising, nor_drum_b, rrrr)
}


def trial_names() -> list[str]:
    return list(_TRIALS)


def get_trial(name: str) -> Trial:
    if name not in _TRIALS:
        raise InputError("trial", name, f"known trials are {', '.join(_TRIALS)}")
    return _TRIALS[name]()
