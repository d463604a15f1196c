"""Safe ``if`` conditions: a tiny expression language parsed with :mod:`ast`, never evaluated by Python.

The grammar is Python's expression syntax restricted to a whitelist of nodes:

* literals: strings, numbers, ``true``/``false``/``null`` (and Python's ``True``/``False``/``None``),
  lists and tuples of literals;
* lookups into the run: the names ``data``, ``profile``, ``recipient``; then ``.field`` and
  ``[key]`` / ``[index]`` with a constant key;
* comparisons (``== != < <= > >= in not in``), ``and`` / ``or`` / ``not``, unary minus.

No calls, no arithmetic that can allocate (``"a" * 10**9``), no attribute that starts with ``_``,
no comprehension, lambda or f-string: those nodes are refused at parse time, so a stored condition can
never reach Python's evaluator. A lookup that finds nothing is ``null``; an ordering comparison between
values that cannot be ordered (``null < 3``) is false rather than an error, so a missing field takes the
``else`` branch instead of failing the run.
"""
from __future__ import annotations

import ast
import re
import operator
from dataclasses import dataclass
from typing import Any, Callable, Mapping

__all__ = ["ExpressionError", "Condition", "parse_condition", "evaluate", "ROOT_NAMES", "MAX_LENGTH"]

MAX_LENGTH = 1_000
MAX_NODES = 200
ROOT_NAMES = frozenset({"data", "profile", "recipient"})
_LITERAL_NAMES: dict[str, Any] = {
    "true": True, "false": False, "null": None, "none": None,
    "True": True, "False": False, "None": None,
}
_COMPARE: dict[type, Callable[[Any, Any], bool]] = {
    ast.Eq: operator.eq, ast.NotEq: operator.ne,
    ast.Lt: operator.lt, ast.LtE: operator.le, ast.Gt: operator.gt, ast.GtE: operator.ge,
    ast.In: lambda a, b: a in b, ast.NotIn: lambda a, b: a not in b,
    ast.Is: lambda a, b: a is b, ast.IsNot: lambda a, b: a is not b,
}
_ALLOWED = (
    ast.Expression, ast.BoolOp, ast.And, ast.Or, ast.UnaryOp, ast.Not, ast.USub, ast.UAdd,
    ast.Compare, ast.Constant, ast.Name, ast.Load, ast.Attribute, ast.Subscript, ast.List, ast.Tuple,
    *_COMPARE.keys(),
)


class ExpressionError(ValueError):
    """A condition is not in the safe subset, or is malformed; the message says which part and why."""


@dataclass(frozen=True)
class Condition:
    """A parsed, vetted condition: evaluate it any number of times with :func:`evaluate`."""

    source: str
    tree: ast.Expression


def parse_condition(source: str) -> Condition:
    """Parse and vet a condition.

    Parameters
    ----------
    source
        The expression text, e.g. ``data.order.total >= 100 and profile.tier == "gold"``.

    Returns
    -------
    Condition
        The vetted tree.

    Raises
    ------
    ExpressionError
        For syntax errors, over-long or over-complex input and every node outside the whitelist.
    """
    if not isinstance(source, str):
        raise ExpressionError("condition must be a string")
    if not source.strip():
        raise ExpressionError("condition is empty")
    if len(source) > MAX_LENGTH:
        raise ExpressionError(f"condition is longer than {MAX_LENGTH} characters")
    try:
        tree = ast.parse(_from_javascript(source.strip()), mode="eval")
    except SyntaxError as exc:
        raise ExpressionError(f"condition is not a valid expression: {exc.msg}") from None
    except (RecursionError, MemoryError, ValueError):
        raise ExpressionError("condition is nested too deeply") from None
    nodes = list(ast.walk(tree))
    if len(nodes) > MAX_NODES:
        raise ExpressionError(f"condition has more than {MAX_NODES} parts")
    for node in nodes:
        _vet(node)
    return Condition(source=source, tree=tree)


_QUOTED = re.compile(r"""("(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')""")
# in this order: === before ==, !== before !, and a lone ! last
_JS_OPERATORS = ((r"(?<![=!<>])===", "=="), (r"!==", "!="), (r"&&", " and "), (r"\|\|", " or "), (r"!(?!=)", " not "))


def _from_javascript(source: str) -> str:
    """Courier's conditions are JavaScript-like: ``===``, ``!==``, ``&&``, ``||`` and ``!`` become Python's.

    Only outside string literals, so ``data.note == "a && b"`` keeps its string.
    """
    parts = _QUOTED.split(source)
    for i in range(0, len(parts), 2):  # even parts are outside quotes
        for pattern, replacement in _JS_OPERATORS:
            parts[i] = re.sub(pattern, replacement, parts[i])
    return "".join(parts)


def _vet(node: ast.AST) -> None:
    if not isinstance(node, _ALLOWED):
        raise ExpressionError(f"{type(node).__name__} is not allowed in a condition "
                              "(only lookups, literals, comparisons, and/or/not)")
    if isinstance(node, ast.Constant) and not (node.value is None or isinstance(node.value, (str, int, float, bool))):
        raise ExpressionError(f"literal {node.value!r} is not allowed in a condition")
    if isinstance(node, ast.Name) and node.id not in ROOT_NAMES and node.id not in _LITERAL_NAMES:
        raise ExpressionError(f"unknown name {node.id!r}: conditions read data, profile or recipient")
    if isinstance(node, ast.Attribute) and node.attr.startswith("_"):
        raise ExpressionError(f"field {node.attr!r} is not allowed (names starting with '_' are refused)")
    if isinstance(node, ast.Subscript):
        key = node.slice
        if isinstance(key, ast.UnaryOp) and isinstance(key.op, ast.USub) and isinstance(key.operand, ast.Constant):
            return
        if not (isinstance(key, ast.Constant) and isinstance(key.value, (str, int)) and not isinstance(key.value, bool)):
            raise ExpressionError("subscripts must be a constant string or integer, e.g. data['key'] or data.items[0]")
        if isinstance(key.value, str) and key.value.startswith("_"):
            raise ExpressionError(f"field {key.value!r} is not allowed (names starting with '_' are refused)")
    if isinstance(node, (ast.List, ast.Tuple)):
        for elt in node.elts:
            if not isinstance(elt, (ast.Constant, ast.UnaryOp)):
                raise ExpressionError("list literals may hold only literals")


def evaluate(condition: Condition, scope: Mapping[str, Any]) -> bool:
    """Evaluate a vetted condition against the run's ``data``, ``profile`` and ``recipient``.

    Parameters
    ----------
    condition
        From :func:`parse_condition`.
    scope
        ``{"data": {...}, "profile": {...}, "recipient": "..."}``; missing roots read as ``null``.

    Returns
    -------
    bool
        The truth value of the expression.
    """
    return bool(_eval(condition.tree.body, scope))


def _lookup(container: Any, key: Any) -> Any:
    # Only JSON containers are traversed: a lookup never reaches a Python object's attributes.
    if isinstance(container, Mapping):
        return container.get(key) if isinstance(key, str) else container.get(str(key))
    if isinstance(container, (list, tuple)) and isinstance(key, int) and not isinstance(key, bool):
        return container[key] if -len(container) <= key < len(container) else None
    return None


def _eval(node: ast.AST, scope: Mapping[str, Any]) -> Any:
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, ast.Name):
        if node.id in _LITERAL_NAMES:
            return _LITERAL_NAMES[node.id]
        return scope.get(node.id)
    if isinstance(node, ast.Attribute):
        return _lookup(_eval(node.value, scope), node.attr)
    if isinstance(node, ast.Subscript):
        return _lookup(_eval(node.value, scope), _eval(node.slice, scope))
    if isinstance(node, (ast.List, ast.Tuple)):
        return [_eval(e, scope) for e in node.elts]
    if isinstance(node, ast.UnaryOp):
        value = _eval(node.operand, scope)
        if isinstance(node.op, ast.Not):
            return not value
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return None
        return -value if isinstance(node.op, ast.USub) else value
    if isinstance(node, ast.BoolOp):
        if isinstance(node.op, ast.And):
            return all(_eval(v, scope) for v in node.values)
        return any(_eval(v, scope) for v in node.values)
    if isinstance(node, ast.Compare):
        left = _eval(node.left, scope)
        for op, right_node in zip(node.ops, node.comparators):
            right = _eval(right_node, scope)
            try:
                ok = _COMPARE[type(op)](left, right)
            except TypeError:
                ok = False  # unorderable or non-container: false, never an error (see module doc)
            if not ok:
                return False
            left = right
        return True
    raise ExpressionError(f"{type(node).__name__} is not allowed in a condition")  # unreachable after vetting
