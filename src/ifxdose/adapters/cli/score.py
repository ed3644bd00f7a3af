"""``ifxdose score ...``: disease-activity and response measures on the command line.

Each command parses options (units in their names, the same names as the measure's keyword
arguments), calls one function of :mod:`ifxdose.domain.scores` and prints the result as a
plain-text table or, with ``--json``, as JSON carrying the full-precision value, the displayed
value and the category (:mod:`ifxdose.adapters.cli._text`). Bad input
raises InputError / ValidationError, which ``ifxdose.adapters.cli.main`` turns into one
line on stderr and exit code 2.
"""

from typing import Annotated, Any, Callable, Optional, Tuple

import typer

from ifxdose.adapters.cli import app
from ifxdose.adapters.cli._text import emit_results
from ifxdose.domain import scores

score_app = typer.Typer(
    help="RA disease activity and response: DAS28, SDAI, CDAI, Boolean, EULAR, ACR, Paulus.",
    no_args_is_help=True,
)
app.add_typer(score_app, name="score")

Pair = Optional[Tuple[float, float]]
IntPair = Optional[Tuple[int, int]]


def _opt(help_text: str) -> Any:
    return typer.Option(help=help_text)


Json = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]
Tjc28 = Annotated[int, _opt("Tender joints of the 28-joint set, 0-28.")]
Sjc28 = Annotated[int, _opt("Swollen joints of the 28-joint set, 0-28.")]
PtgaMm = Annotated[Optional[float], _opt("Patient global, 0-100 mm VAS.")]
PtgaCm = Annotated[Optional[float], _opt("Patient global, 0-10 cm.")]
PhgaMm = Annotated[Optional[float], _opt("Physician global, 0-100 mm VAS.")]
PhgaCm = Annotated[Optional[float], _opt("Physician global, 0-10 cm.")]
CrpMgL = Annotated[Optional[float], _opt("C-reactive protein, mg/L (0-500).")]
CrpMgDl = Annotated[Optional[float], _opt("C-reactive protein, mg/dL (0-50).")]
Cutoffs = Annotated[str, _opt("acr-eular-2011 | das-score-nl | crp-fleischmann-2017.")]


def _given(options: dict[str, Any]) -> dict[str, Any]:
    """The options the user gave (an omitted option is None and takes the measure's default)."""
    return {name: value for name, value in options.items() if value is not None and name != "as_json"}


def _show(name: str, measure: Callable[..., Any], options: dict[str, Any]) -> None:
    """Call ``measure`` with the command's options and print its result under ``name``.

    Every option of a score command is named as the measure's keyword argument (units in the
    names), so a command passes ``locals()`` (its options, ``as_json`` included) unchanged.
    """
    emit_results({name: measure(**_given(options))}, options["as_json"])


@score_app.command("das28-crp")
def das28_crp_cmd(
    tjc28: Tjc28,
    sjc28: Sjc28,
    crp_mg_l: CrpMgL = None,
    crp_mg_dl: CrpMgDl = None,
    ptga_mm: PtgaMm = None,
    ptga_cm: PtgaCm = None,
    cutoffs: Cutoffs = "acr-eular-2011",
    as_json: Json = False,
) -> None:
    """DAS28-CRP (4-variable with a patient global, else 3-variable)."""
    _show("das28_crp", scores.das28_crp, locals())


@score_app.command("das28-esr")
def das28_esr_cmd(
    tjc28: Tjc28,
    sjc28: Sjc28,
    esr_mm_h: Annotated[float, _opt("ESR (Westergren), mm/h, 1-200.")],
    ptga_mm: PtgaMm = None,
    ptga_cm: PtgaCm = None,
    cutoffs: Cutoffs = "acr-eular-2011",
    as_json: Json = False,
) -> None:
    """DAS28-ESR (4-variable with a patient global, else 3-variable)."""
    _show("das28_esr", scores.das28_esr, locals())


@score_app.command("sdai")
def sdai_cmd(
    tjc28: Tjc28,
    sjc28: Sjc28,
    crp_mg_dl: CrpMgDl = None,
    crp_mg_l: CrpMgL = None,
    ptga_cm: PtgaCm = None,
    ptga_mm: PtgaMm = None,
    phga_cm: PhgaCm = None,
    phga_mm: PhgaMm = None,
    as_json: Json = False,
) -> None:
    """SDAI = TJC28 + SJC28 + PtGA (cm) + PhGA (cm) + CRP (mg/dL)."""
    _show("sdai", scores.sdai, locals())


@score_app.command("cdai")
def cdai_cmd(
    tjc28: Tjc28,
    sjc28: Sjc28,
    ptga_cm: PtgaCm = None,
    ptga_mm: PtgaMm = None,
    phga_cm: PhgaCm = None,
    phga_mm: PhgaMm = None,
    as_json: Json = False,
) -> None:
    """CDAI = TJC28 + SJC28 + PtGA (cm) + PhGA (cm)."""
    _show("cdai", scores.cdai, locals())


@score_app.command("boolean")
def boolean_cmd(
    tjc28: Tjc28,
    sjc28: Sjc28,
    crp_mg_dl: CrpMgDl = None,
    crp_mg_l: CrpMgL = None,
    ptga_cm: PtgaCm = None,
    ptga_mm: PtgaMm = None,
    version: Annotated[str, _opt("2011 (PtGA <=1) or 2022 (PtGA <=2).")] = "2011",
    as_json: Json = False,
) -> None:
    """ACR/EULAR Boolean remission (2011 or 2022 definition)."""
    _show("boolean", scores.boolean_remission, locals())


@score_app.command("eular")
def eular_cmd(
    baseline_das28: Annotated[float, _opt("Baseline DAS28 (0-10).")],
    current_das28: Annotated[float, _opt("Current DAS28, same variant (0-10).")],
    as_json: Json = False,
) -> None:
    """EULAR response (good / moderate / none) from two DAS28 values."""
    _show("eular", scores.eular_response, locals())


def _visits(pairs: dict[str, Any]) -> dict[str, Any]:
    """``--name BASELINE FOLLOWUP`` options as the ``baseline`` and ``followup`` visit dictionaries."""
    given = _given(pairs)
    return {"baseline": {n: p[0] for n, p in given.items()}, "followup": {n: p[1] for n, p in given.items()}}


def _pair(help_text: str) -> Any:
    return typer.Option(help=f"{help_text} BASELINE FOLLOWUP.")


@score_app.command("acr")
def acr_cmd(
    tjc68: Annotated[Tuple[int, int], _pair("Tender joints of 68:")],
    sjc66: Annotated[Tuple[int, int], _pair("Swollen joints of 66:")],
    pain_mm: Annotated[Pair, _pair("Pain, 0-100 mm:")] = None,
    pain_cm: Annotated[Pair, _pair("Pain, 0-10 cm:")] = None,
    ptga_mm: Annotated[Pair, _pair("Patient global, 0-100 mm:")] = None,
    ptga_cm: Annotated[Pair, _pair("Patient global, 0-10 cm:")] = None,
    phga_mm: Annotated[Pair, _pair("Physician global, 0-100 mm:")] = None,
    phga_cm: Annotated[Pair, _pair("Physician global, 0-10 cm:")] = None,
    haq_di: Annotated[Pair, _pair("HAQ-DI, 0-3:")] = None,
    crp_mg_l: Annotated[Pair, _pair("CRP, mg/L:")] = None,
    crp_mg_dl: Annotated[Pair, _pair("CRP, mg/dL:")] = None,
    esr_mm_h: Annotated[Pair, _pair("ESR, mm/h:")] = None,
    apr: Annotated[str, _opt("Acute-phase reactant: auto | crp | esr.")] = "auto",
    as_json: Json = False,
) -> None:
    """ACR20/50/70 (and ACR-N when all 7 measures are given) from two core sets."""
    options = locals()
    visits = _visits({name: value for name, value in options.items() if name not in ("apr", "as_json")})
    result = scores.acr_response(**visits, apr=apr)
    complete = all(c.improvement_pct is not None for c in result.components)
    acr_n = scores.acr_n(**visits, apr=apr) if complete else None
    emit_results({"acr": result, "acr_n": acr_n}, as_json)


@score_app.command("paulus")
def paulus_cmd(
    morning_stiffness_min: Annotated[Pair, _pair("Morning stiffness, minutes:")] = None,
    esr_mm_h: Annotated[Pair, _pair("Westergren ESR, mm/h:")] = None,
    joint_pain_score: Annotated[Pair, _pair("Joint pain/tenderness score:")] = None,
    joint_swelling_score: Annotated[Pair, _pair("Joint swelling score:")] = None,
    ptga_grade: Annotated[IntPair, _pair("Patient global, grade 1-5 (1 best):")] = None,
    phga_grade: Annotated[IntPair, _pair("Physician global, grade 1-5 (1 best):")] = None,
    as_json: Json = False,
) -> None:
    """Paulus 20% and 50% response (4 of 6 measures; see docs/scores.md)."""
    emit_results({"paulus": scores.paulus_response(**_visits(locals()))}, as_json)


HaqCat = Annotated[Optional[int], _opt("Category score 0-3 (worst item).")]


@score_app.command("haq")
def haq_cmd(
    dressing: HaqCat = None,
    arising: HaqCat = None,
    eating: HaqCat = None,
    walking: HaqCat = None,
    hygiene: HaqCat = None,
    reach: HaqCat = None,
    grip: HaqCat = None,
    activities: HaqCat = None,
    aids: Annotated[
        Optional[list[str]], typer.Option("--aid", help="Category using aids/devices or help (repeatable).")
    ] = None,
    as_json: Json = False,
) -> None:
    """HAQ-DI from category scores, with the aids/devices rule (>= 6 categories)."""
    _show("haq_di", scores.haq_di, locals())


@score_app.command("sharp")
def sharp_cmd(
    baseline_mtss: Annotated[float, _opt("Baseline modified total Sharp score.")],
    followup_mtss: Annotated[float, _opt("Follow-up modified total Sharp score.")],
    sdc: Annotated[float, _opt("Smallest detectable change (5.0, 11 or 15.5).")] = 5.0,
    as_json: Json = False,
) -> None:
    """Change in modified total Sharp score, flagged against the smallest detectable change."""
    _show("mtss_change", scores.mtss_change, locals())


@score_app.command("joints")
def joints_cmd(
    tender: Annotated[Optional[list[str]], _opt("Tender joint id, e.g. left_mcp2 (repeatable).")] = None,
    swollen: Annotated[Optional[list[str]], _opt("Swollen joint id (repeatable).")] = None,
    as_json: Json = False,
) -> None:
    """TJC28 and SJC28 from named joints (<left|right>_<shoulder|elbow|wrist|mcpN|pipN|knee>)."""
    _show("joints", scores.joint_counts, locals())
