"""Request bodies checked before anything else runs (before the session, authentication and
route parsing): a size limit (413), and JSON bodies without NaN, Infinity, numbers that
overflow to infinity (``1e309``) or nesting deeper than ``max_depth`` (422 in the API and
pages, 400 for CDS Hooks, whose errors are 400 by that spec).

Python's ``json`` accepts ``NaN``/``Infinity`` and turns ``1e309`` into ``inf``; a value
that no JSON encoder can write back then broke the 422 handler (HTTP 500). Deep nesting
exhausts recursion in parsers and validators. Both are refused here, once, for every route.
A pure ASGI middleware: the body is read once (up to the limit) and replayed to the app.
"""

from __future__ import annotations

import json
import math
from typing import Any

from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

#: Form bodies are not JSON; every other body (or none given) is parsed as JSON by FastAPI.
_FORM_TYPES = (b"multipart/form-data", b"application/x-www-form-urlencoded")


class BodyProblem(ValueError):
    """A JSON body the app refuses: ``allowed`` says what is allowed."""

    def __init__(self, value: str, allowed: str) -> None:
        self.value, self.allowed = value, allowed
        super().__init__(f"{value}: {allowed}")


def _constant(name: str) -> Any:
    raise BodyProblem(name, "finite numbers only (no NaN or Infinity)")


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise BodyProblem(text[:40], "finite numbers only (this one overflows to infinity)")
    return value


def depth(document: Any) -> int:
    """Nesting depth of a parsed JSON document (scalars 0, ``[]`` 1), without recursion."""
    deepest, stack = 0, [(document, 0)]
    while stack:
        node, level = stack.pop()
        if isinstance(node, (dict, list)):
            level += 1
            deepest = max(deepest, level)
            stack.extend((child, level) for child in (node.values() if isinstance(node, dict) else node))
    return deepest


def json_problem(body: bytes, max_depth: int) -> BodyProblem | None:
    """Why ``body`` is refused, or None (also None for text that is not JSON at all: the
    route's own parser reports that as it always did)."""
    try:
        document = json.loads(body, parse_constant=_constant, parse_float=_finite)
    except BodyProblem as exc:
        return exc
    except RecursionError:
        return BodyProblem("(document)", f"JSON nested at most {max_depth} levels deep")
    except (ValueError, TypeError):
        return None
    if depth(document) > max_depth:
        return BodyProblem("(document)", f"JSON nested at most {max_depth} levels deep")
    return None


def refusal(path: str, status: int, value: str, allowed: str) -> JSONResponse:
    if path.startswith("/cds-services"):
        return JSONResponse(
            {"error": f"body: {allowed}", "field": "body"}, status_code=400 if status == 422 else status
        )
    detail = [{"field": "body", "value": value, "allowed": allowed, "msg": f"body: {allowed}", "loc": ["body"]}]
    return JSONResponse({"detail": detail}, status_code=status)


class BodyGuard:
    def __init__(self, app: ASGIApp, max_bytes: int, max_depth: int) -> None:
        self.app, self.max_bytes, self.max_depth = app, max_bytes, max_depth

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        too_big = f"request bodies of at most {self.max_bytes} bytes"
        length = headers.get(b"content-length", b"")
        if length and (not length.isdigit() or int(length) > self.max_bytes):
            await refusal(scope["path"], 413, f"{length.decode('latin-1')[:20]} bytes", too_big)(scope, receive, send)
            return
        chunks, size, more = [], 0, True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_bytes:
                await refusal(scope["path"], 413, f"more than {self.max_bytes} bytes", too_big)(scope, receive, send)
                return
            chunks.append(chunk)
            more = message.get("more_body", False)
        body = b"".join(chunks)
        content_type = headers.get(b"content-type", b"").lower()
        if body.strip() and not content_type.startswith(_FORM_TYPES):
            problem = json_problem(body, self.max_depth)
            if problem is not None:
                await refusal(scope["path"], 422, problem.value, problem.allowed)(scope, receive, send)
                return
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)
