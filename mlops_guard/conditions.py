"""What a condition step's ``Conditions`` mean: one model for every reader of them.

A ``ConditionStep`` runs its ``IfSteps`` when all its ``Conditions`` hold and its
``ElseSteps`` when at least one does not. The rules judge those conditions statically
(can a gate let a model through whose metric is worse than the policy's threshold?), the
reference runner evaluates them on the values of one execution. Both read them through
this module, so they cannot disagree about what a condition says: the same parsing of the
definition JSON into a formula, the same comparison of two values, the same logic of
``Not`` and ``Or``.

A formula is a tuple: ``("atom", Atom)`` for a comparison or an ``In``; ``("not", f)``;
``("and", [f, ...])`` or ``("or", [f, ...])``; ``("other", type)`` for a condition this
model does not know (a malformed one, or a type SageMaker adds later): it may hold or not,
and an evaluator that must decide reports it (:func:`unsupported`).
"""

from __future__ import annotations

import operator
import sys
from collections import namedtuple

from mlops_guard.definition import render_expression
from mlops_guard.pointer import join

COMPARISONS = {
    "Equals": ("==", operator.eq),
    "GreaterThan": (">", operator.gt),
    "GreaterThanOrEqualTo": (">=", operator.ge),
    "LessThan": ("<", operator.lt),
    "LessThanOrEqualTo": ("<=", operator.le),
}
"""Condition types comparing ``LeftValue`` with ``RightValue``: their symbol and test."""

Operand = namedtuple("Operand", "pointer expression text metric parameter constant")
"""One side of a comparison (or an ``In``'s query or one of its values): the expression as
written, its rendered ``text``, and what it is: ``metric`` is the path of a value a step
produced (a ``Std:JsonGet`` ``Path``, or the property of ``Steps.X.<property>``),
``parameter`` a pipeline parameter's name, ``constant`` a finite number; at most one is
set (none for a string, a join, an execution variable)."""

Atom = namedtuple("Atom", "condition type pointer left right values")
"""One comparison (``type`` in :data:`COMPARISONS`, ``left`` and ``right`` its operands)
or ``In`` (``left`` the query, ``values`` its operands, ``right`` None) of the condition
step named ``condition``."""


def finite(value) -> float | None:
    """A JSON number as a float, or None for anything else, including integers too large
    for a float (JSON has no limit) and the ``Infinity`` Python's parser accepts."""
    number = isinstance(value, int | float) and not isinstance(value, bool)
    return float(value) if number and abs(value) <= sys.float_info.max else None


def _operand(value, pointer: str) -> Operand:
    text = render_expression(value)
    if isinstance(value, dict):
        json_get = value.get("Std:JsonGet")
        if isinstance(json_get, dict):
            return Operand(pointer, value, text, str(json_get.get("Path", "")), None, None)
        path = value.get("Get")
        if isinstance(path, str) and path.startswith("Steps."):
            parts = path.split(".", 2)
            metric = parts[2] if len(parts) == 3 else path
            return Operand(pointer, value, text, metric, None, None)
        if isinstance(path, str) and path.startswith("Parameters."):
            return Operand(pointer, value, text, None, path.split(".", 1)[1], None)
    return Operand(pointer, value, text, None, None, finite(value))


def parse(node, pointer: str, condition: str):
    """One condition of the condition step named ``condition`` (at ``pointer``) as a
    formula. ``Not`` holds its condition under ``Condition`` (as the SDK writes it) or
    ``Expression``; ``Or`` its alternatives under ``Conditions``; ``In`` its ``QueryValue``
    and ``Values``."""
    if not isinstance(node, dict):
        return ("other", None)
    kind = node.get("Type")
    if not isinstance(kind, str):
        return ("other", None)
    if kind in COMPARISONS:
        left = _operand(node.get("LeftValue"), join(pointer, "LeftValue"))
        right = _operand(node.get("RightValue"), join(pointer, "RightValue"))
        return ("atom", Atom(condition, kind, pointer, left, right, ()))
    if kind == "In":
        query = _operand(node.get("QueryValue"), join(pointer, "QueryValue"))
        values = node.get("Values") if isinstance(node.get("Values"), list) else []
        operands = tuple(_operand(v, join(pointer, "Values", i)) for i, v in enumerate(values))
        return ("atom", Atom(condition, kind, pointer, query, None, operands))
    if kind == "Not":
        key = "Condition" if "Condition" in node else "Expression"
        return ("not", parse(node.get(key), join(pointer, key), condition))
    if kind == "Or":
        items = node.get("Conditions") if isinstance(node.get("Conditions"), list) else []
        base = join(pointer, "Conditions")
        return ("or", [parse(item, join(base, i), condition) for i, item in enumerate(items)])
    return ("other", kind)


def all_conditions(items, pointer: str, condition: str):
    """A condition step's ``Conditions`` list (at ``pointer``) as one formula: what must
    hold for its ``IfSteps`` to run; ``("not", ...)`` of it is what runs its ``ElseSteps``."""
    items = items if isinstance(items, list) else []
    return ("and", [parse(item, join(pointer, i), condition) for i, item in enumerate(items)])


def atoms(formula):
    """The comparisons and ``In`` conditions of a formula, in document order."""
    kind = formula[0]
    if kind == "atom":
        yield formula[1]
    elif kind == "not":
        yield from atoms(formula[1])
    elif kind in ("and", "or"):
        for child in formula[1]:
            yield from atoms(child)


def operands(atom: Atom) -> tuple:
    """The operands of an atom: left and right, or an ``In``'s query and values."""
    return (atom.left, *atom.values) if atom.type == "In" else (atom.left, atom.right)


def compare(atom: Atom, left, right) -> bool:
    """Whether ``atom`` holds when its left operand (an ``In``'s query) is ``left`` and its
    right operand is ``right`` (an ``In``'s values: a list). ``In`` holds when the query
    equals one of the values."""
    if atom.type == "In":
        return any(left == value for value in right)
    return bool(COMPARISONS[atom.type][1](left, right))


def truth(formula, atom_truth) -> bool | None:
    """The truth of a formula given ``atom_truth(atom)`` (True, False, or None when the
    atom may go either way), in three-valued logic: None when the formula may hold or
    not. A condition this model does not know may go either way. Every part is evaluated
    (no short cut), so an evaluator sees each atom once."""
    kind = formula[0]
    if kind == "atom":
        return atom_truth(formula[1])
    if kind == "not":
        inner = truth(formula[1], atom_truth)
        return None if inner is None else not inner
    if kind in ("and", "or"):
        results = [truth(child, atom_truth) for child in formula[1]]
        decisive = kind == "or"  # True decides an Or, False decides an And
        if decisive in results:
            return decisive
        return None if None in results else not decisive
    return None


def unsupported(formula) -> tuple[bool, str | None]:
    """``(True, type)`` for the first condition in the formula this model does not know
    (``type`` None when it has none), else ``(False, None)``: an evaluator that must decide
    cannot."""
    kind = formula[0]
    if kind == "other":
        return True, formula[1]
    children = [formula[1]] if kind == "not" else formula[1] if kind in ("and", "or") else []
    for child in children:
        found = unsupported(child)
        if found[0]:
            return found
    return False, None


def sample_values(points) -> list[float]:
    """One value from each piece of the real line cut at ``points``: below the first, each
    point, between neighbours, above the last (odd indices are the points themselves).
    Every comparison of a number with one of the points has one truth value per piece, so
    these values stand for all numbers."""
    points = sorted(set(points))
    values = [points[0] - 1]
    for index, point in enumerate(points):
        values.append(point)
        values.append((point + points[index + 1]) / 2 if index + 1 < len(points) else point + 1)
    return values
