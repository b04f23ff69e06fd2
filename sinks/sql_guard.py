"""Which SQL a reader may run: exactly one read statement, checked on the engine's own parse of it.

`readonly = 1` is not enough in this engine: it still lets a query write a file (`INTO OUTFILE`),
read one (the scalar `file()`), kill the writer's queries (`KILL QUERY`) and switch a pooled
session's database (`USE`). So before a reader's text runs, the engine parses it twice:

1. `formatQuery('<text>')` turns the text (a string literal here, so nothing in it runs) into one
   canonical statement: comments, case and backquotes are gone, and more than one statement is a
   syntax error;
2. `EXPLAIN AST <canonical>` gives that statement's syntax tree, which `refusal` judges.

The canonical text is what then runs, so what was judged is exactly what executes. `readonly = 1`
and the reader limits stay underneath as the second line.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable

_SETTINGS = "SETTINGS (a reader's limits and settings are fixed)"
READ_STATEMENTS = "one SELECT, WITH, SHOW, DESCRIBE, EXPLAIN or EXISTS statement"
# Syntax-tree root kinds (EXPLAIN AST's first word) of those statements.
_READ_ROOTS = ("Select", "Show", "SHOW ", "Describe", "Exists", "Explain")

# Table functions that read only what the query itself holds or the engine's own tables.
# Every other table function (file, url, s3, remote, executable, python, mysql, ...) is refused.
ALLOWED_TABLE_FUNCTIONS = frozenset({
    "numbers", "numbers_mt", "zeros", "zeros_mt", "generate_series", "generateseries", "generaterandom",
    "values", "sqlstandardvalues", "null", "view", "viewifpermitted", "merge", "primes",
})
# Functions that reach the filesystem, the network or another process, as scalars or as tables (lower
# case). The engine's own list of table functions is added at start, so a new engine's new table
# function is refused too.
DENIED_FUNCTIONS = frozenset({
    "file", "filecluster", "filesystem", "url", "urlcluster", "s3", "s3cluster", "gcs", "cosn", "oss", "hdfs",
    "hdfscluster", "remote", "remotesecure", "cluster", "clusterallreplicas", "executable", "eval", "python",
    "input", "jdbc", "odbc", "mysql", "postgresql", "mongodb", "redis", "sqlite", "ytsaurus", "bigquery",
    "azureblobstorage", "azureblobstoragecluster", "iceberg", "icebergs3", "icebergazure", "iceberghdfs",
    "iceberglocal", "deltalake", "deltalakelocal", "deltalakes3", "deltalakeazure", "hudi", "paimon",
    "arrowstream", "loop", "fuzzjson", "fuzzquery", "dictionary", "prometheusquery", "prometheusqueryrange",
    "addresstoline", "addresstolinewithinlines", "addresstosymbol", "filesystemavailable", "filesystemcapacity",
    "filesystemunreserved", "catboostevaluate", "modelevaluate", "evalmlmethod",
})


@dataclass(frozen=True)
class Policy:
    """What a reader may call: `denied` functions never; in FROM, the allowed table functions and, when
    the engine's own list of table functions is known, any other name, which can then only be a
    (parameterized) view such as account_engagement_part(slices = 4, slice = 0)."""

    denied: frozenset[str] = DENIED_FUNCTIONS
    table_functions: frozenset[str] | None = None  # the engine's, lower case; None: not known

    @classmethod
    def for_engine(cls, table_functions: set[str]) -> "Policy":
        """Every table function of this engine that is not on the allowed list is denied, as a scalar too."""
        return cls(DENIED_FUNCTIONS | (frozenset(table_functions) - ALLOWED_TABLE_FUNCTIONS), frozenset(table_functions))

    def table_function_refused(self, name: str) -> bool:
        if name in ALLOWED_TABLE_FUNCTIONS:
            return False
        return self.table_functions is None or name in self.table_functions


STATIC = Policy()


class Refused(Exception):
    """pulse refuses the statement; the message is ClickHouse-style, with the reason."""

    code = 164  # READONLY

    def __init__(self, reason: str, after_engine_error: bool = False):
        super().__init__(f"Code: {self.code}. DB::Exception: pulse refuses: {reason}. (READONLY)")
        self.reason = reason
        # the session saw an engine error on the way (a statement that takes no FORMAT clause)
        self.after_engine_error = after_engine_error


def sql_string(text: str) -> str:
    """A ClickHouse string literal holding `text` exactly."""
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


class EngineError(Exception):
    """The engine's own error about the reader's text (a syntax error), without the guard's wrapping."""


def canonical(run: Callable[[str], str], text: str) -> str:
    """The engine's one-statement formatting of `text`; a syntax error (or two statements) raises."""
    try:
        return run(f"SELECT formatQuery({sql_string(text)}) FORMAT TSVRaw").rstrip("\n")
    except Exception as exc:
        message = str(exc)
        scope = message.find(": In scope SELECT formatQuery(")
        if scope < 0:
            raise
        # the error names the reader's text, not the formatQuery() around it
        raise EngineError(message[max(message.find("Code: "), 0):scope] + ". " + message[message.rfind("("):]) from None


def has_format(canonical_text: str) -> bool:
    """The canonical form puts a FORMAT clause on a line of its own (literals cannot break a line there)."""
    return any(line.startswith("FORMAT ") for line in canonical_text.splitlines())


def check(run: Callable[[str], str], text: str, policy: Policy = STATIC,
          default_format: str | None = None) -> str:
    """The statement to execute for a reader's `text`, or Refused naming why.

    `run` executes one query on a reader session and returns its output as text.
    """
    if "\0" in text:
        raise Refused("a NUL byte in the query")
    try:
        statement = canonical(run, text)
    except Exception as exc:
        reason = _why_not_formatted(run, text, exc, policy)
        if reason:
            raise Refused(reason, after_engine_error=True) from None
        raise
    if default_format and not has_format(statement):
        if not re.fullmatch(r"[A-Za-z][A-Za-z0-9_]*", default_format):
            raise Refused(f"default_format={default_format!r} is not a format name")
        statement = canonical(run, f"{statement}\nFORMAT {default_format}")
    reason = judge(run, statement, policy)
    if reason:
        raise Refused(reason)
    return statement


def judge(run: Callable[[str], str], statement: str, policy: Policy = STATIC) -> str | None:
    """Why a canonical statement may not run, or None."""
    if _outside_quotes(statement, ";"):
        return "more than one statement"
    if any(line.startswith("SETTINGS ") for line in statement.splitlines()):
        # judged on the text: EXPLAIN AST itself applies a statement's top-level SETTINGS
        return _SETTINGS
    return refusal(run(f"EXPLAIN AST {statement}"), statement, policy)


# What ClickHouse clients append to read rows (clickhouse-connect: "\n FORMAT Native").
_TRAILING_FORMAT = re.compile(r"\s+FORMAT\s+\w+\s*;?\s*$", re.IGNORECASE)


def _why_not_formatted(run: Callable[[str], str], text: str, exc: Exception, policy: Policy) -> str | None:
    """A client appends FORMAT to every query, and a statement that takes none (DROP, INSERT, SET)
    is then a syntax error: name the real reason instead. Only judged here, never run."""
    bare = _TRAILING_FORMAT.sub("", text)
    if bare == text or "Code: 62" not in str(exc):
        return None
    try:
        statement = canonical(run, bare)
    except Exception:
        return None
    return judge(run, statement, policy)


def refusal(ast: str, statement: str = "", policy: Policy = STATIC) -> str | None:
    """Why the statement whose `EXPLAIN AST` output is `ast` may not run, or None when it may."""
    nodes = [(len(line) - len(line.lstrip(" ")), line.strip()) for line in ast.splitlines() if line.strip()]
    roots = [node for depth, node in nodes if depth == 0]
    if len(roots) != 1:
        return f"more than one statement ({READ_STATEMENTS} is allowed)"
    if not roots[0].startswith(_READ_ROOTS):
        word = statement.split(None, 1)[0].upper() if statement.strip() else roots[0].split()[0]
        return f"{word}; the SQL endpoint is read-only: {READ_STATEMENTS}"
    for i, (depth, node) in enumerate(nodes):
        kind, _, rest = node.partition(" ")
        if depth == 1 and kind == "Literal":
            return "INTO OUTFILE (writes a file on the server)"
        if kind == "Set" and not _explain_options(nodes, i):
            return _SETTINGS
        if kind == "Explain":
            for child in _children(nodes, i):
                child_kind = child.split(" ", 1)[0]
                if child_kind not in ("Set", "Literal", "Identifier") and not child.startswith(_READ_ROOTS):
                    return f"EXPLAIN of {child_kind}; the SQL endpoint is read-only: {READ_STATEMENTS}"
        if kind == "Function":
            name = rest.split(" ", 1)[0]
            if name.lower() in policy.denied:
                return f"{name}() (reaches files, the network or other processes)"
            if _parent(nodes, i) == "TableExpression" and policy.table_function_refused(name.lower()):
                return f"table function {name}() (reads only tables and {', '.join(sorted(ALLOWED_TABLE_FUNCTIONS))})"
    return None


def _children(nodes: list[tuple[int, str]], i: int) -> list[str]:
    depth, out = nodes[i][0], []
    for d, node in nodes[i + 1:]:
        if d <= depth:
            break
        if d == depth + 1:
            out.append(node)
    return out


def _parent(nodes: list[tuple[int, str]], i: int) -> str:
    depth = nodes[i][0]
    for d, node in reversed(nodes[:i]):
        if d < depth:
            return node.split(" ", 1)[0]
    return ""


def _explain_options(nodes: list[tuple[int, str]], i: int) -> bool:
    """EXPLAIN's own options (`EXPLAIN header = 1 SELECT ...`) parse as its first child, a Set, before
    the explained statement; a SETTINGS clause of that statement comes after it, or inside it."""
    depth = nodes[i][0]
    for j in range(i - 1, -1, -1):
        if nodes[j][0] < depth:
            return nodes[j][1].startswith("Explain") and j == i - 1 and \
                any(d == depth for d, _ in nodes[i + 1:_end(nodes, j)])
    return False


def _end(nodes: list[tuple[int, str]], i: int) -> int:
    """The index just past node i's subtree."""
    for j in range(i + 1, len(nodes)):
        if nodes[j][0] <= nodes[i][0]:
            return j
    return len(nodes)


def _outside_quotes(text: str, char: str) -> bool:
    """Whether `char` occurs outside '...', "..." and `...` (backslash escapes and doubled quotes)."""
    quote, i = None, 0
    while i < len(text):
        c = text[i]
        if quote:
            if c == "\\":
                i += 1
            elif c == quote:
                if i + 1 < len(text) and text[i + 1] == quote:
                    i += 1
                else:
                    quote = None
        elif c in "'\"`":
            quote = c
        elif c == char:
            return True
        i += 1
    return False
