"""The layers of ARCHITECTURE.md ("Layers"), enforced: no module imports one of a higher layer.

Every module of the package is parsed (``ast``, so that an import inside a function counts as much as one at the
top) and each import of a zhengji module is checked against the layer order below, which ARCHITECTURE.md writes
down. Imports under ``if TYPE_CHECKING:`` are left out: they load nothing at run time and only name a type for
an annotation (``storage.blobs`` names ``Settings``, the bot's core names the chat desk it is handed).
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "zhengji"

LAYERS: list[tuple[str, ...]] = [
    ("zhengji.clock", "zhengji.textsafe", "zhengji.xlsxsafe", "zhengji.logs", "zhengji.__init__"),
    ("zhengji.notices",),
    ("zhengji.storage",),
    ("zhengji.settings",),
    ("zhengji.parsers",),
    # The bot's answering core (every module of zhengji.bot but its delivery below): understanding and answers
    # from the notices, the catalog and the database. It knows nothing of mail, and the mailbox answers a question
    # mail with it.
    ("zhengji.bot",),
    ("zhengji.mailbox",),
    ("zhengji.review", "zhengji.staff"),
    # The bot's delivery: channels, the code mails (sent through the mailbox's outbox), links, status pushes.
    (
        "zhengji.bot.channels",
        "zhengji.bot.codemail",
        "zhengji.bot.links",
        "zhengji.bot.runtime",
        "zhengji.bot.component",
        "zhengji.bot.notifier",
        "zhengji.bot.ratelimit",
    ),
    ("zhengji.web",),
    ("zhengji.cli", "zhengji.service", "zhengji.__main__"),
]


def layer_of(module: str) -> int:
    """The layer of a module: the one whose longest prefix names it (``zhengji.bot.links`` before ``zhengji.bot``)."""
    best, found = -1, -1
    for index, prefixes in enumerate(LAYERS):
        for prefix in prefixes:
            if (module == prefix or module.startswith(prefix + ".")) and len(prefix) > best:
                best, found = len(prefix), index
    if found < 0:
        raise LookupError(f"{module} is in no layer of tests/test_layers.py; add it (and to ARCHITECTURE.md)")
    return found


def module_name(path: Path, root: Path = PACKAGE) -> str:
    parts = list(path.relative_to(root.parent).with_suffix("").parts)
    if parts[-1] == "__init__" and len(parts) > 2:
        parts.pop()
    return ".".join(parts)


def _type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def imports(tree: ast.AST, module: str, package: bool) -> Iterator[tuple[int, str]]:
    """Every zhengji module ``tree`` imports (line, name), at any depth, outside ``if TYPE_CHECKING:``."""
    stack: list[ast.AST] = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, ast.If) and _type_checking(node):
            stack.extend(node.orelse)
            continue
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = module.split(".") if package else module.split(".")[:-1]
                base = base[: len(base) - (node.level - 1)]
                target = ".".join([*base, node.module] if node.module else base)
            else:
                target = node.module or ""
            yield node.lineno, target
            for alias in node.names:  # ``from zhengji.bot import codemail`` imports zhengji.bot.codemail
                yield node.lineno, f"{target}.{alias.name}"
        stack.extend(ast.iter_child_nodes(node))


def upward_imports(root: Path = PACKAGE) -> list[str]:
    found = []
    for path in sorted(root.rglob("*.py")):
        module = module_name(path, root)
        if ".migrations." in f".{module}.":
            continue  # Alembic's scripts are loaded by Alembic, not imported by the package
        own = layer_of(module)
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        worst: dict[int, tuple[int, str]] = {}  # one report a statement: its highest import
        for line, target in imports(tree, module, path.name == "__init__.py"):
            if not target.startswith("zhengji."):
                continue
            try:
                other = layer_of(target)
            except LookupError:
                continue
            if other > own and other > worst.get(line, (-1, ""))[0]:
                worst[line] = (other, target)
        for line, (_, target) in sorted(worst.items()):
            found.append(f"{path.relative_to(root.parent)}:{line}: {module} imports {target}")
    return found


def test_no_module_imports_a_higher_layer() -> None:
    assert upward_imports() == []


def test_review_and_web_do_not_need_the_pipeline() -> None:
    """The review desk and the web queue a mail through the reply queue, never through the pipeline's worker."""
    found = []
    for folder in ("review", "web"):
        for path in sorted((PACKAGE / folder).rglob("*.py")):
            module = module_name(path)
            for line, target in imports(ast.parse(path.read_text(encoding="utf-8")), module, False):
                if target == "zhengji.mailbox.pipeline" or target.startswith("zhengji.mailbox.pipeline."):
                    found.append(f"{module}:{line}")
    assert found == []


def test_the_check_finds_an_upward_import(tmp_path: Path) -> None:
    """The test itself: a storage module importing the review desk, even inside a function, is caught."""
    package = tmp_path / "zhengji"
    (package / "storage").mkdir(parents=True)
    (package / "storage" / "__init__.py").write_text("")
    (package / "storage" / "bad.py").write_text(
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n    from zhengji.web import app\n"
        "def late() -> None:\n    from zhengji.review import queue\n"
    )
    assert upward_imports(package) == ["zhengji/storage/bad.py:5: zhengji.storage.bad imports zhengji.review"]


@pytest.mark.parametrize(
    ("module", "layer"),
    [
        ("zhengji.bot.core", "zhengji.bot"),
        ("zhengji.bot.codemail", "zhengji.bot.codemail"),
        ("zhengji.cli.db", "zhengji.cli"),
    ],
)
def test_a_module_belongs_to_its_longest_prefix(module: str, layer: str) -> None:
    assert layer in LAYERS[layer_of(module)]
