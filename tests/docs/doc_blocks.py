"""Run the shell blocks of the README and docs as written, and check the answers they show.

A fenced ``bash`` block is preceded by a directive, an HTML comment (invisible once rendered):

* ``<!-- run -->``: the suite runs it against a local stage, in one bash session per document (so
  variables set by one block are there for the next), under ``set -euo pipefail``;
* ``<!-- not run: <why> -->``: it cannot run here (it starts the stage itself, needs the pulumi CLI or an
  AWS account, …); the reason is required, so an exemption is a decision someone wrote down.

Inside a run block, a comment line ``# → <shape>`` shows the answer of the commands above it (since the
previous ``# →``): their output must match the shape. A shape is JSON with three liberties —

* ``"req_..."``: any string starting with ``req_`` (``"..."``: any string);
* ``{"a", "b"?, "c": <shape>}``: an object with exactly these keys (``?`` = optional), values any or shaped;
* ``[<shape>]``: a list whose every item matches (``[...]``: any list) —

and an optional leading HTTP status (``202 {...}``) when the command prints the status on its own last line
(curl's ``-w '\\n%{http_code}\\n'``). Exact key sets are the point: an answer with an undocumented field
fails the suite, and so does a README answer the code no longer gives.
"""
from __future__ import annotations

import json
import os
import re
import subprocess
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["Block", "blocks", "Shape", "parse_shape", "matches", "BashSession", "chunks"]

FENCE = re.compile(r"^```(\w+)?\s*$")
DIRECTIVE = re.compile(r"^<!--\s*(run|not run:\s*(?P<why>.+?))\s*-->\s*$")
ANSWER = re.compile(r"^\s*# → (?P<shape>.+)$")
SHELLS = {"bash", "sh", "shell", "console"}


@dataclass
class Block:
    path: Path
    line: int  # 1-based line of the opening fence
    lang: str
    text: str
    directive: str  # "run", "not run", or "" when missing
    why: str = ""

    @property
    def where(self) -> str:
        return f"{self.path.name}:{self.line}"


def blocks(path: Path) -> list[Block]:
    """Every fenced block of ``path`` with the directive on the line before it."""
    lines = path.read_text().splitlines()
    found: list[Block] = []
    i = 0
    while i < len(lines):
        m = FENCE.match(lines[i])
        if not m:
            i += 1
            continue
        start, lang = i, (m.group(1) or "")
        j = i + 1
        while j < len(lines) and not lines[j].startswith("```"):
            j += 1
        prev = lines[start - 1] if start > 0 else ""
        d = DIRECTIVE.match(prev.strip())
        directive = "" if not d else ("run" if d.group(1) == "run" else "not run")
        found.append(Block(path, start + 1, lang, "\n".join(lines[start + 1:j]), directive,
                           (d.group("why") or "") if d else ""))
        i = j + 1
    return found


def chunks(text: str) -> list[tuple[str, str | None]]:
    """(commands, shape shown after them or None) in order."""
    out: list[tuple[str, str | None]] = []
    current: list[str] = []
    for line in text.splitlines():
        m = ANSWER.match(line)
        if m:
            out.append(("\n".join(current), m.group("shape").strip()))
            current = []
        else:
            current.append(line)
    if any(line.strip() and not line.strip().startswith("#") for line in current):
        out.append(("\n".join(current), None))
    return out


# ---- shapes ------------------------------------------------------------------------------------------
class Shape:
    """A parsed answer shape (see the module docstring)."""

    def __init__(self, kind: str, value: Any = None, keys: dict[str, tuple[bool, "Shape | None"]] | None = None):
        self.kind, self.value, self.keys = kind, value, keys or {}

    def __repr__(self) -> str:
        return f"Shape({self.kind}, {self.value!r}, {self.keys!r})"


class _Parser:
    def __init__(self, text: str) -> None:
        self.s, self.i = text, 0

    def ws(self) -> None:
        while self.i < len(self.s) and self.s[self.i] in " \t\n":
            self.i += 1

    def peek(self) -> str:
        self.ws()
        return self.s[self.i] if self.i < len(self.s) else ""

    def eat(self, ch: str) -> None:
        if self.peek() != ch:
            raise ValueError(f"expected {ch!r} at {self.i} in {self.s!r}")
        self.i += 1

    def string(self) -> str:
        self.ws()
        dec = json.JSONDecoder()
        value, end = dec.raw_decode(self.s, self.i)
        if not isinstance(value, str):
            raise ValueError(f"expected a string at {self.i} in {self.s!r}")
        self.i = end
        return value

    def shape(self) -> Shape:
        ch = self.peek()
        if ch == "{":
            self.eat("{")
            keys: dict[str, tuple[bool, Shape | None]] = {}
            while self.peek() != "}":
                name = self.string()
                optional = False
                if self.peek() == "?":
                    self.eat("?")
                    optional = True
                sub = None
                if self.peek() == ":":
                    self.eat(":")
                    sub = self.shape()
                keys[name] = (optional, sub)
                if self.peek() == ",":
                    self.eat(",")
            self.eat("}")
            return Shape("object", keys=keys)
        if ch == "[":
            self.eat("[")
            if self.s.startswith("...", self.i + (len(self.s[self.i:]) - len(self.s[self.i:].lstrip()))):
                self.ws()
                self.i += 3
                self.eat("]")
                return Shape("any-list")
            item = self.shape()
            self.eat("]")
            return Shape("list", item)
        if ch == '"':
            value = self.string()
            if value.endswith("..."):
                return Shape("prefix", value[:-3])
            return Shape("literal", value)
        self.ws()
        value, end = json.JSONDecoder().raw_decode(self.s, self.i)
        self.i = end
        return Shape("literal", value)


def parse_shape(text: str) -> tuple[int | None, Shape]:
    """``"[<status>] <shape>"`` → (status or None, shape)."""
    m = re.match(r"^(\d{3})\s+(.*)$", text.strip())
    status, body = (int(m.group(1)), m.group(2)) if m else (None, text.strip())
    p = _Parser(body)
    shape = p.shape()
    p.ws()
    if p.i != len(p.s):
        raise ValueError(f"trailing text in shape {text!r}")
    return status, shape


def matches(value: Any, shape: Shape, where: str = "$") -> list[str]:
    """Every way ``value`` differs from ``shape`` (empty = it matches)."""
    if shape.kind == "literal":
        return [] if value == shape.value else [f"{where}: {value!r} is not {shape.value!r}"]
    if shape.kind == "prefix":
        ok = isinstance(value, str) and value.startswith(shape.value)
        return [] if ok else [f"{where}: {value!r} does not start with {shape.value!r}"]
    if shape.kind == "any-list":
        return [] if isinstance(value, list) else [f"{where}: {value!r} is not a list"]
    if shape.kind == "list":
        if not isinstance(value, list):
            return [f"{where}: {value!r} is not a list"]
        return [e for n, item in enumerate(value) for e in matches(item, shape.value, f"{where}[{n}]")]
    if not isinstance(value, dict):
        return [f"{where}: {value!r} is not an object"]
    errors = [f"{where}: undocumented field {k!r}" for k in value if k not in shape.keys]
    for key, (optional, sub) in shape.keys.items():
        if key not in value:
            if not optional:
                errors.append(f"{where}: missing field {key!r}")
        elif sub is not None:
            errors += matches(value[key], sub, f"{where}.{key}")
    return errors


# ---- running -----------------------------------------------------------------------------------------
class BashSession:
    """One bash process fed chunk by chunk (variables persist), stdout read up to a sentinel per chunk."""

    SENTINEL = "__relay_doc_chunk_done__"

    def __init__(self, env: dict[str, str], cwd: Path) -> None:
        self.proc = subprocess.Popen(["bash", "--noprofile", "--norc"], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=cwd)
        self.stderr: list[str] = []
        threading.Thread(target=lambda: self.stderr.extend(self.proc.stderr), daemon=True).start()  # type: ignore[arg-type]
        self._write("set -euo pipefail")

    def _write(self, text: str) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(text + "\n")
        self.proc.stdin.flush()

    def run(self, commands: str) -> str:
        """Run ``commands``; return their stdout. Raises if the shell died (a command failed under set -e)."""
        self._write(commands)
        # on a line of its own even when the last command printed no newline (curl -s does not)
        self._write(f"printf '\\n%s\\n' {self.SENTINEL}")
        out: list[str] = []
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            if line.rstrip("\n") == self.SENTINEL:
                return "".join(out)
            out.append(line)
        raise AssertionError(f"the shell stopped (a command failed) after:\n{commands}\n--- stdout:\n{''.join(out)}"
                             f"\n--- stderr:\n{''.join(self.stderr[-30:])}")

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.stdin.close()  # type: ignore[union-attr]
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()


def session_env(extra: dict[str, str]) -> dict[str, str]:
    """The environment a reader's shell has: the venv's tools on PATH, plus ``extra`` (the stage's AWS env)."""
    root = Path(__file__).resolve().parents[2]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "RELAY_"))}
    env["PATH"] = f"{root / '.venv' / 'bin'}:{env.get('PATH', '/usr/bin:/bin')}"
    env.update(extra)
    return env
