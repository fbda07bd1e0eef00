"""Request bodies checked before any view parses them: JSON nested too deeply or holding numbers too long to
convert answers 400 in the one error shape, never a RecursionError or Python's integer-digit ValueError.

The views parse JSON themselves (APIFlask through webargs), so this hook parses a JSON body once with the
same limits and refuses it when they are broken; a body that passes is parsed again by the view.
"""

from __future__ import annotations

import json

from flask import request

from matcher.errors import BadRequest

MAX_DEPTH = 32      # objects and arrays inside each other
MAX_DIGITS = 100    # digits of one JSON number


def _number(text: str):
    if len(text) > MAX_DIGITS:
        raise _TooLong(text)
    return int(text)


def _decimal(text: str):
    if len(text) > MAX_DIGITS:
        raise _TooLong(text)
    return float(text)


class _TooLong(ValueError):
    """A number literal longer than ``MAX_DIGITS`` characters."""


def depth_of(value) -> int:
    """How deeply arrays and objects nest in a parsed JSON value (a scalar is 0). Iterative: O(size)."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, level = stack.pop()
        if isinstance(item, dict):
            children = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        deepest = max(deepest, level)
        if deepest > MAX_DEPTH:
            return deepest
        stack.extend((child, level + 1) for child in children)
    return deepest


def problem_of(data: bytes) -> str | None:
    """What makes a JSON body unacceptable (too deep, a number too long), or None; syntax errors are left to
    the view, which answers them in the usual way."""
    try:
        value = json.loads(data, parse_int=_number, parse_float=_decimal)
    except _TooLong as error:
        return (f"A number in the body has {len(error.args[0]):,} characters; numbers of at most {MAX_DIGITS} "
                f"digits are accepted. / ตัวเลขยาวเกินกำหนด")
    except RecursionError:
        return _too_deep()
    except ValueError:
        return None
    return _too_deep() if depth_of(value) > MAX_DEPTH else None


def _too_deep() -> str:
    return (f"The JSON body nests arrays or objects more than {MAX_DEPTH} levels deep; send a flat object as "
            f"documented at /api/v1/docs. / ข้อมูล JSON ซ้อนกันลึกเกินกำหนด")


def check_json_body() -> None:
    """A before_request hook: BadRequest (400, field ``body``) for a JSON body that breaks the limits."""
    if request.method in ("GET", "HEAD", "OPTIONS") or not request.is_json:
        return
    data = request.get_data(cache=True)
    if not data:
        return
    problem = problem_of(data)
    if problem:
        raise BadRequest(problem, field="body")


def register(app) -> None:
    app.before_request(check_json_body)
