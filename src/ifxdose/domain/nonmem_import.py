"""Translate a NONMEM control stream into the general model language, with pharmpy.

The control stream is parsed by pharmpy (pharmpy-core, Uppsala University; the optional
extra ``ifxdose[nonmem]``, imported only here): ``$PK`` becomes the ``pk`` block,
the compartmental system (ADVAN1-4, 11, 12 with their TRANS, or ``$DES``) becomes the
compartments and their differential equations in NONMEM's compartment numbering (so ``F1``,
``ALAG2``, ``D1``, ``R1`` keep their meaning), ``$THETA`` the thetas (FIX noted; all thetas
are fixed for MAP anyway), ``$OMEGA`` (blocks included) the random effects, and ``$ERROR``
the output: with every ``EPS`` 0 ``Y`` is the prediction, and the residual SD is
``sqrt(sum_ij dY/dEPS_i * dY/dEPS_j * SIGMA_ij)`` at ``EPS = 0`` — exact for additive,
proportional, combined and log-transformed (``Y = LOG(F) + EPS``) models, the first-order
linearisation NONMEM itself uses for ``F*EXP(EPS)``.

Refused, with the reason: ``$PRED`` models (no compartments), ``$MIX``, between-occasion
``$OMEGA ... SAME`` blocks, data items other than TIME used in the equations (AMT, MDV...),
non-zero initial amounts, functions the language does not have, and anything pharmpy
cannot parse.
"""

from __future__ import annotations

import json
import re
from typing import Any

from ifxdose.core.errors import InputError, MissingExtraError
from ifxdose.core.pk.general import LANGUAGE, load_general_text

_DATA_ITEMS = {"AMT", "RATE", "DV", "MDV", "EVID", "CMT", "SS", "II", "ADDL", "ID", "PCMT", "CALL", "NEWIND", "ICALL"}


def _printer() -> Any:
    from sympy.printing.str import StrPrinter

    class Printer(StrPrinter):  # type: ignore[misc]  # sympy ships no type information
        """sympy -> the expression language (docs/model-language.md)."""

        def _print_Piecewise(self, expr: Any) -> str:
            out = None
            for value, cond in reversed(expr.args):
                v = self._print(value)
                out = (
                    v
                    if out is None or cond is True or str(cond) == "True"
                    else f"where({self._print(cond)}, {v}, {out})"
                )
                if out is None:
                    out = v
            return f"({out})"

        def _print_Equality(self, expr: Any) -> str:
            return f"({self._print(expr.lhs)} == {self._print(expr.rhs)})"

        def _print_Unequality(self, expr: Any) -> str:
            return f"({self._print(expr.lhs)} != {self._print(expr.rhs)})"

        def _print_Relational(self, expr: Any) -> str:
            return f"({self._print(expr.lhs)} {expr.rel_op} {self._print(expr.rhs)})"

        def _print_And(self, expr: Any) -> str:
            return "(" + " & ".join(self._print(a) for a in expr.args) + ")"

        def _print_Or(self, expr: Any) -> str:
            return "(" + " | ".join(self._print(a) for a in expr.args) + ")"

        def _print_Not(self, expr: Any) -> str:
            return f"~{self._print(expr.args[0])}"

        def _print_Abs(self, expr: Any) -> str:
            return f"abs({self._print(expr.args[0])})"

        def _fold(self, name: str, expr: Any) -> str:
            """Nested two-argument calls: sympy's n-ary Max(a, b, c) -> max(max(a, b), c)."""
            args: list[str] = [self._print(a) for a in expr.args]
            out = args[0]
            for a in args[1:]:
                out = f"{name}({out}, {a})"
            return out

        def _print_Max(self, expr: Any) -> str:
            return self._fold("max", expr)

        def _print_Min(self, expr: Any) -> str:
            return self._fold("min", expr)

        def _print_Exp1(self, expr: Any) -> str:
            return "exp(1)"

        def _print_Pi(self, expr: Any) -> str:
            return repr(3.141592653589793)

        def _print_Float(self, expr: Any) -> str:
            return repr(float(expr))

        def _print_Rational(self, expr: Any) -> str:
            return f"({expr.p}/{expr.q})"

        def _print_BooleanTrue(self, expr: Any) -> str:
            return "1"

        def _print_BooleanFalse(self, expr: Any) -> str:
            return "0"

        def _print_AppliedUndef(self, expr: Any) -> str:  # A_CENTRAL(t) -> CENTRAL
            name: str = expr.func.__name__
            return name[2:] if name.startswith("A_") else name

    return Printer()


def _refuse(what: str, why: str) -> InputError:
    return InputError("control stream", what, f"cannot be translated: {why} (docs/nonmem.md lists what is supported)")


def import_control_stream(text: str, name: str) -> tuple[str, list[str]]:
    """(model TOML text, notes). InputError naming what cannot be translated."""
    try:
        import sympy
        from pharmpy.model.statements import Assignment
        from pharmpy.modeling import read_model_from_string
    except ModuleNotFoundError as exc:
        raise MissingExtraError("pharmpy", "nonmem") from exc
    for rec in ("$PRED", "$MIX", "$INFN", "$LEVEL"):
        if re.search(r"^\s*" + re.escape(rec) + r"\b", text, re.M | re.I):
            raise _refuse(rec, {"$PRED": "a $PRED model has no compartments"}.get(rec, f"{rec} is not supported"))
    if re.search(r"\bSAME\b", text, re.I):
        raise _refuse("$OMEGA ... SAME", "between-occasion blocks are written as [occasion_effects] by hand")
    try:
        m = read_model_from_string(text)
    except Exception as exc:  # pharmpy's own parse errors come in many types
        raise _refuse("parse", f"pharmpy could not read it ({type(exc).__name__}: {exc})") from None
    st = m.statements
    ode = st.ode_system
    if ode is None:
        raise _refuse("$SUBROUTINE", "no compartmental system")
    printer = _printer()
    pr = printer.doprint
    params = {p.name: p for p in m.parameters}
    rv = m.random_variables
    etas, epss = list(rv.etas.names), list(rv.epsilons.names)
    S = sympy.sympify  # pharmpy 2 wraps its expressions; sympify unwraps them (_sympy_)
    om, sg = S(rv.etas.covariance_matrix), S(rv.epsilons.covariance_matrix)
    var_names = {str(s) for s in om.free_symbols | sg.free_symbols}
    thetas = {k: v for k, v in params.items() if k not in var_names}
    notes: list[str] = []

    def num(mat: Any) -> list[list[float]]:
        return [
            [float(mat[i, j].subs({sympy.Symbol(k): v.init for k, v in params.items()})) for j in range(mat.shape[1])]
            for i in range(mat.shape[0])
        ]

    comps = list(ode.compartment_names)
    amount_list = [S(a) for a in ode.amounts]
    amount_of = {a.func.__name__: c for a, c in zip(amount_list, comps)}
    amounts = set(amount_list)
    before = [(S(s.symbol), S(s.expression)) for s in st.before_odes if isinstance(s, Assignment)]
    pk_lines: list[str] = []
    des_pre: list[str] = []
    assigned: set[str] = set()
    for sym, expr in before:
        line = f"{sym} = {pr(expr)}"
        in_des = expr.has(*amounts) or bool({str(x) for x in expr.free_symbols} & set(des_names(des_pre)))
        (des_pre if in_des else pk_lines).append(line)
        assigned.add(str(sym))
    for c in ode.compartment_names:
        comp = ode.find_compartment(c)
        if comp is not None and getattr(comp, "input", 0) not in (0, sympy.Integer(0)):
            raise _refuse(f"compartment {c}", "a zero-order input other than doses")
    t = S(ode.t)
    des_lines = list(des_pre)
    for eq in (S(e) for e in ode.eqs):
        amt = eq.lhs.args[0]
        des_lines.append(f"d{pr(amt)} = {pr(eq.rhs)}")
    if any(str(v).startswith("A_0") for v in assigned):
        raise _refuse("A_0", "non-zero initial amounts")
    # $ERROR: substitute every statement into Y
    y = None
    subs: dict[Any, Any] = {}
    for s in st.after_odes:
        if isinstance(s, Assignment):
            sym = S(s.symbol)
            subs[sym] = S(s.expression).subs(subs)
            if str(sym) == "Y":
                y = subs[sym]
    if y is None:
        raise _refuse("$ERROR", "no Y = ... statement")
    eps_syms = [sympy.Symbol(e) for e in epss]
    zero = {e: 0 for e in eps_syms}
    pred = sympy.simplify(y.subs(zero)) if len(str(y)) < 2000 else y.subs(zero)
    sig = num(sg)
    grads = [sympy.diff(y, e).subs(zero) for e in eps_syms]
    var = sum(
        grads[i] * grads[j] * sig[i][j] for i in range(len(eps_syms)) for j in range(len(eps_syms)) if sig[i][j] != 0
    )
    if var == 0:
        raise _refuse("$ERROR", "Y does not depend on any EPS")
    sd = sympy.sqrt(var)
    # names: covariates are the remaining free symbols of $PK
    free = set()
    for _sym, line_expr in before:
        free |= {str(x) for x in line_expr.free_symbols}
    free |= {str(x) for x in pred.free_symbols | sd.free_symbols}
    free -= assigned | set(thetas) | set(etas) | set(epss) | {str(t), "t"}
    free -= set(comps)
    items = sorted(free & _DATA_ITEMS)
    if items:
        raise _refuse(items[0], "data items other than TIME cannot be used in the equations")
    covariates = sorted(free - {"TIME"})
    t_text = pr(t)
    fix = [k for k, v in thetas.items() if v.fix]
    if fix:
        notes.append(f"thetas fixed in the control stream: {', '.join(fix)} (all thetas are fixed for MAP)")
    notes.append(
        "covariates read from the data set: "
        + (", ".join(covariates) or "none")
        + " (set unit, range and reference in the [covariates] tables)"
    )
    out = [
        f"language = {json.dumps(LANGUAGE)}",
        f"title = {json.dumps('Imported from NONMEM: ' + name)}",
        f"citation = {json.dumps('control stream ' + name + ' (imported with pharmpy)')}",
        'population = ""',
        "dose_compartment = 1",
        f"compartments = {json.dumps(comps)}",
        "des = '''\n" + "\n".join(des_lines).replace(f"({t_text})", "") + "\n'''",
        "pk = '''\n" + "\n".join(pk_lines) + "\n'''",
        "",
        "[theta]",
    ]
    for k, v in thetas.items():
        out.append(
            f"{k} = {{ value = {float(v.init)!r}, source = {json.dumps('$THETA' + (' FIX' if v.fix else ''))} }}"
        )
    for c in covariates:
        out += ["", f"[covariates.{c}]", 'unit = ""', "low = -1e300", "high = 1e300"]
    if etas:
        out += ["", "[random_effects]", f"names = {json.dumps(etas)}", f"omega = {json.dumps(num(om))}"]
    out += ["", "[[outputs]]", 'name = "Y"', f"prediction = {json.dumps(pr(pred))}", f"sd = {json.dumps(pr(sd))}"]
    toml_text = "\n".join(out) + "\n"
    for a in amount_of:
        toml_text = toml_text.replace(f"{a}({t_text})", a[2:] if a.startswith("A_") else a)
    load_general_text(toml_text, name)  # the translation must load: refuse rather than write a broken file
    return toml_text, notes


def des_names(lines: list[str]) -> list[str]:
    return [ln.split("=", 1)[0].strip() for ln in lines]
