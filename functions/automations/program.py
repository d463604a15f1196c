"""Compile a step tree (``if`` with nested ``then``/``else``) into a flat program.

Each instruction has one integer index, so a job names its step as ``{"step": <index>}`` and the state
table keys steps as ``STEP#<index:04d>``, exactly as docs/CONTRACTS.md says, whatever the nesting.
Control flow lives in the instructions: ``next`` is the index to run afterwards (``None`` = the run is
done); an ``if`` instruction also has ``else``, taken when its condition is false. Indices follow the
order the steps are written in (depth first), so a run's steps read in the same order as the request.

Example::

    [A, if(c, then=[B, C], else=[D]), E]
    0: A  next 1
    1: if next 2 (then) else 4
    2: B  next 3
    3: C  next 5
    4: D  next 5
    5: E  next None
"""
from __future__ import annotations

from typing import Any

__all__ = ["compile_steps", "Instruction"]

Instruction = dict[str, Any]  # {"i", "action", "spec", "next", "else"?}
_BRANCH_KEYS = ("then", "else")


def compile_steps(steps: list[dict[str, Any]]) -> list[Instruction]:
    """Flatten ``steps`` (as stored: dicts, ``if`` branches under ``then``/``else``).

    Parameters
    ----------
    steps
        The automation's step list, already validated by :class:`~functions.automations.schema.Automation`.

    Returns
    -------
    list of dict
        Instructions ``{"i": index, "action": str, "spec": {step fields without branches},
        "next": int | None}``; ``if`` instructions also carry ``"else": int | None``.
    """
    program: list[Instruction] = []
    for index, field in _emit(steps, program):
        program[index][field] = None
    return program


def _guarded(step: dict[str, Any]) -> dict[str, Any]:
    """A step with its own ``if`` (Courier) is an ``if`` step whose then-branch is the step without it."""
    if step.get("action") == "if" or not step.get("if"):
        return step
    inner = {k: v for k, v in step.items() if k != "if"}
    return {"action": "if", "condition": step["if"], "then": [inner]}


def _emit(steps: list[dict[str, Any]], program: list[Instruction]) -> list[tuple[int, str]]:
    """Append ``steps``; return the (index, field) exits that must point at whatever follows them."""
    pending: list[tuple[int, str]] = []
    for step in steps:
        step = _guarded(step)
        here = len(program)
        for index, field in pending:
            program[index][field] = here
        spec = {k: v for k, v in step.items() if k not in _BRANCH_KEYS or step.get("action") != "if"}
        instr: Instruction = {"i": here, "action": step["action"], "spec": spec, "next": None}
        program.append(instr)
        if step["action"] != "if":
            pending = [(here, "next")]
            continue
        instr["else"] = None
        exits: list[tuple[int, str]] = []
        for field in _BRANCH_KEYS:
            branch = step.get(field) or []
            if branch:
                instr["next" if field == "then" else "else"] = len(program)
                exits += _emit(branch, program)
            else:
                exits.append((here, "next" if field == "then" else "else"))
        pending = exits
    return pending
