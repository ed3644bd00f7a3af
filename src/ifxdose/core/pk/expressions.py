"""A small, safe expression language for model equations, compiled to vectorised numpy.

A block is a sequence of assignments ``NAME = expression`` (one per line, or separated by
``;``; ``#`` starts a comment). Expressions use numbers, names, ``+ - * / **`` (``^`` is
accepted as a power), unary ``-``/``+``, comparisons (``< <= > >= == !=``, giving 1.0 or
0.0), ``&`` / ``|`` / ``~`` on comparisons, ``a if cond else b`` and the functions in
:data:`FUNCTIONS`. Nothing else: no attributes, subscripts, lambdas, comprehensions,
keyword arguments or names starting with an underscore.

The text is parsed with Python's :mod:`ast`, every node is checked against a whitelist,
every name against the names the caller declares, and only then compiled; it is evaluated
with an empty ``__builtins__`` and a namespace holding only numpy arrays and the whitelisted
functions, so a model file cannot run arbitrary Python.
"""

from __future__ import annotations

import ast
import re
import types
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from ifxdose.core.errors import InputError
from ifxdose.core.types import FloatArray


def _where(cond: Any, a: Any, b: Any) -> FloatArray:
    return np.asarray(np.where(np.asarray(cond) != 0, a, b), dtype=np.float64)


def _logit(x: Any) -> Any:
    from scipy.special import logit  # scipy.special on first use: it costs ~0.4 s of CLI start-up

    return logit(x)


def _expit(x: Any) -> Any:
    from scipy.special import expit

    return expit(x)


def _phi(x: Any) -> Any:
    from scipy.special import ndtr

    return ndtr(x)


#: Functions an expression may call (name -> implementation, number of arguments).
FUNCTIONS: dict[str, tuple[Callable[..., Any], int]] = {
    "exp": (np.exp, 1),
    "log": (np.log, 1),
    "log10": (np.log10, 1),
    "sqrt": (np.sqrt, 1),
    "abs": (np.abs, 1),
    "logit": (_logit, 1),
    "expit": (_expit, 1),
    "phi": (_phi, 1),  # standard normal CDF (NONMEM PHI)
    "min": (np.minimum, 2),
    "max": (np.maximum, 2),
    "where": (_where, 3),
}

_ALLOWED_NODES = (
    ast.Expression,
    ast.BinOp,
    ast.UnaryOp,
    ast.Compare,
    ast.IfExp,
    ast.Call,
    ast.Name,
    ast.Load,
    ast.Constant,
    ast.Add,
    ast.Sub,
    ast.Mult,
    ast.Div,
    ast.Pow,
    ast.USub,
    ast.UAdd,
    ast.Lt,
    ast.LtE,
    ast.Gt,
    ast.GtE,
    ast.Eq,
    ast.NotEq,
    ast.BitAnd,
    ast.BitOr,
    ast.Invert,
)
_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")


class _ToNumpy(ast.NodeTransformer):
    """Rewrite comparisons to float arrays, chained comparisons to '&', `a if c else b` to where()."""

    def visit_Compare(self, node: ast.Compare) -> ast.AST:
        self.generic_visit(node)
        parts: list[ast.Compare] = []
        left = node.left
        for op, right in zip(node.ops, node.comparators):
            parts.append(ast.Compare(left=left, ops=[op], comparators=[right]))
            left = right
        expr: ast.expr = ast.Call(func=ast.Name(id="__float", ctx=ast.Load()), args=[parts[0]], keywords=[])
        for p in parts[1:]:
            nxt = ast.Call(func=ast.Name(id="__float", ctx=ast.Load()), args=[p], keywords=[])
            expr = ast.Call(func=ast.Name(id="__and", ctx=ast.Load()), args=[expr, nxt], keywords=[])
        return expr

    def visit_BinOp(self, node: ast.BinOp) -> ast.AST:
        self.generic_visit(node)
        if isinstance(node.op, (ast.BitAnd, ast.BitOr)):
            fn = "__and" if isinstance(node.op, ast.BitAnd) else "__or"
            return ast.Call(func=ast.Name(id=fn, ctx=ast.Load()), args=[node.left, node.right], keywords=[])
        return node

    def visit_UnaryOp(self, node: ast.UnaryOp) -> ast.AST:
        self.generic_visit(node)
        if isinstance(node.op, ast.Invert):
            return ast.Call(func=ast.Name(id="__not", ctx=ast.Load()), args=[node.operand], keywords=[])
        return node

    def visit_IfExp(self, node: ast.IfExp) -> ast.AST:
        self.generic_visit(node)
        return ast.Call(
            func=ast.Name(id="where", ctx=ast.Load()), args=[node.test, node.body, node.orelse], keywords=[]
        )


@dataclass(frozen=True)
class Statement:
    target: str
    source: str
    names: frozenset[str]  # names read
    code: types.CodeType


def _check(tree: ast.AST, text: str, where: str) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(tree):
        if not isinstance(node, _ALLOWED_NODES):
            raise InputError(
                where,
                text,
                f"'{type(node).__name__}' is not allowed; expressions use numbers, names, "
                f"+ - * / **, comparisons and the functions {', '.join(FUNCTIONS)}",
            )
        if (
            isinstance(node, ast.Constant)
            and not isinstance(node.value, (int, float))
            or isinstance(node, ast.Constant)
            and isinstance(node.value, bool)
        ):
            raise InputError(where, text, "only numeric constants are allowed")
        if isinstance(node, ast.Call):
            if not isinstance(node.func, ast.Name) or node.func.id not in FUNCTIONS or node.keywords:
                fn = node.func.id if isinstance(node.func, ast.Name) else "?"
                raise InputError(where, text, f"unknown function {fn!r}; allowed functions are {', '.join(FUNCTIONS)}")
            if len(node.args) != FUNCTIONS[node.func.id][1]:
                raise InputError(where, text, f"{node.func.id}() takes {FUNCTIONS[node.func.id][1]} argument(s)")
        elif isinstance(node, ast.Name):
            if not _NAME.match(node.id):
                raise InputError(where, text, f"bad name {node.id!r}: names start with a letter")
            names.add(node.id)
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            names.discard(node.func.id)
    return names


def compile_expression(text: str, known: set[str] | frozenset[str], where: str = "expression") -> Statement:
    """Compile one expression; every name it reads must be in ``known``."""
    src = text.strip().replace("^", "**")
    try:
        tree = ast.parse(src, mode="eval")
    except SyntaxError as exc:
        raise InputError(where, text, f"not a valid expression (column {exc.offset})") from None
    names = _check(tree, text, where)
    unknown = sorted(names - set(known))
    if unknown:
        raise InputError(
            where, text, f"unknown name {unknown[0]!r}; defined here: {', '.join(sorted(known)) or 'none'}"
        )
    tree = ast.fix_missing_locations(_ToNumpy().visit(tree))
    return Statement("", text.strip(), frozenset(names), compile(tree, f"<{where}>", "eval"))


def split_statements(block: str) -> list[tuple[int, str, str]]:
    """(line number, target, expression) for each ``NAME = expr`` of a block."""
    out = []
    for lineno, raw in enumerate(block.splitlines(), start=1):
        line = raw.split("#", 1)[0]
        for part in line.split(";"):
            part = part.strip()
            if not part:
                continue
            target, eq, expr = part.partition("=")
            target = target.strip()
            if not eq or expr.startswith("=") or not _NAME.match(target):
                raise InputError("equations", part, f"line {lineno}: expected 'NAME = expression'")
            out.append((lineno, target, expr.strip()))
    return out


@dataclass(frozen=True)
class Block:
    """Compiled assignments, evaluated in order over broadcasting numpy arrays."""

    statements: tuple[Statement, ...]

    @property
    def targets(self) -> tuple[str, ...]:
        return tuple(s.target for s in self.statements)

    def reads(self) -> set[str]:
        defined: set[str] = set()
        read: set[str] = set()
        for s in self.statements:
            read |= set(s.names) - defined
            defined.add(s.target)
        return read

    def run(self, namespace: Mapping[str, Any]) -> dict[str, Any]:
        """Evaluate every statement into (a copy of) ``namespace``; returns it."""
        env: dict[str, Any] = {"__builtins__": {}, **HELPERS}
        env.update({k: f for k, (f, _) in FUNCTIONS.items()})
        env.update(namespace)
        with np.errstate(all="ignore"):
            for s in self.statements:
                env[s.target] = eval(s.code, env)  # noqa: S307 - whitelisted, compiled AST only
        return {k: v for k, v in env.items() if k not in FUNCTIONS and not k.startswith("__")}


def _as_float(x: Any) -> FloatArray:
    return np.asarray(x, dtype=float)


def _and(a: Any, b: Any) -> FloatArray:
    return np.asarray(np.logical_and(np.asarray(a) != 0, np.asarray(b) != 0), dtype=np.float64)


def _or(a: Any, b: Any) -> FloatArray:
    return np.asarray(np.logical_or(np.asarray(a) != 0, np.asarray(b) != 0), dtype=np.float64)


def _not(a: Any) -> FloatArray:
    return np.asarray(np.asarray(a) == 0, dtype=np.float64)


#: Helpers the compiled code calls (names no model can write: they start with underscores).
HELPERS: dict[str, Callable[..., FloatArray]] = {"__float": _as_float, "__and": _and, "__or": _or, "__not": _not}


def compile_block(
    block: str,
    known: set[str] | frozenset[str],
    where: str = "equations",
    reserved: set[str] | frozenset[str] = frozenset(),
) -> Block:
    """Compile a block; a statement may read ``known`` names and earlier targets."""
    defined = set(known)
    out = []
    for lineno, target, expr in split_statements(block):
        if target in reserved or target in FUNCTIONS:
            raise InputError(where, target, f"line {lineno}: {target!r} is reserved and cannot be assigned")
        st = compile_expression(expr, defined, f"{where} line {lineno}")
        out.append(Statement(target, f"{target} = {expr}", st.names, st.code))
        defined.add(target)
    return Block(tuple(out))
