"""The house rules that keep refbot easy to carry on, checked so that they stay true.

- No import circle among `bot/` modules: every import counts, at the top of a module, inside a function
  (where a circle hides until the day someone moves it up) or under `TYPE_CHECKING`.
- No hidden global state: nothing is attached to SQLAlchemy's global `Session` class; the check-in
  summary hook belongs to the sessions a `Database` makes; the App Home's memory belongs to an app.
"""

from __future__ import annotations

import ast
from pathlib import Path

from sqlalchemy import event
from sqlalchemy.orm import Session

from bot import home
from models import checkin_summary
from models.db import Database

ROOT = Path(__file__).resolve().parent.parent


def modules(package: str = "bot") -> dict[str, Path]:
    """Every module under `package`, by dotted name (a package by its own name)."""
    found = {}
    for path in (ROOT / package).rglob("*.py"):
        parts = list(path.relative_to(ROOT).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


def imports_of(name: str, path: Path, known: dict[str, Path]) -> set[str]:
    """The known modules `name` imports anywhere in its file (relative imports resolved)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    targets: list[str] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            targets += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                head = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join([*head, base] if base else head)
            targets += [f"{base}.{a.name}" if f"{base}.{a.name}" in known else base for a in node.names]
    found = set()
    for target in targets:
        while target and target not in known:  # `bot.customers.search.search` → the module `bot.customers.search`
            target = target.rpartition(".")[0]
        if target and target != name:
            found.add(target)
    return found


def circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected groups of more than one module (Tarjan), each a circle of imports."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for other in sorted(graph[node]):
            if other not in index:
                visit(other)
                low[node] = min(low[node], low[other])
            elif other in on_stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == node:
                    break
            if len(group) > 1 or node in graph[node]:
                groups.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return groups


def test_no_import_circle_among_bot_modules() -> None:
    known = modules("bot")
    graph = {name: imports_of(name, path, known) for name, path in known.items()}
    found = circles(graph)
    explained = [
        " → ".join(g) + f"  ({', '.join(f'{a} imports {sorted(graph[a] & set(g))}' for a in g)})" for g in found
    ]
    assert found == [], "import circles in bot/:\n" + "\n".join(explained)


def test_the_circle_finder_finds_circles_hidden_in_functions(tmp_path: Path) -> None:
    """The check above can fail: a function-level import that closes a circle is one."""
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "__init__.py").write_text("")
    (tmp_path / "pkg" / "a.py").write_text("from pkg.b import thing\n")
    (tmp_path / "pkg" / "b.py").write_text("def thing():\n    from pkg import a\n    return a\n")
    (tmp_path / "pkg" / "c.py").write_text("from . import a\n")
    known = {f"pkg.{n}": tmp_path / "pkg" / f"{n}.py" for n in "abc"} | {"pkg": tmp_path / "pkg" / "__init__.py"}
    graph = {name: imports_of(name, path, known) for name, path in known.items()}
    assert graph["pkg.c"] == {"pkg.a"}
    assert circles(graph) == [["pkg.a", "pkg.b"]]


def test_nothing_is_attached_to_the_global_session_class(database_url: str) -> None:
    assert not event.contains(Session, "after_flush", checkin_summary.after_flush)
    db = Database(database_url)
    try:
        with db.reading() as session:
            assert session.get_bind() is not None
        assert event.contains(db._sessions, "after_flush", checkin_summary.after_flush)
    finally:
        db.dispose()


def test_the_home_memory_belongs_to_an_app_not_to_the_module() -> None:
    from bot.memo import Memo

    assert not [name for name, value in vars(home).items() if isinstance(value, Memo)]
    first, second = home.HomeMemory(), home.HomeMemory()
    first.picks.put(("db", 1, 1, 0.0), 7)
    assert second.picks.get(("db", 1, 1, 0.0)) == (False, None)
