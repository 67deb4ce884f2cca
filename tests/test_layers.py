"""The package's wings import one way: the core (data, models, training) and the stand-in
generator never reach the paper or the report, and nothing but the command line reaches the
report. Checked on the source, so an import inside a function counts too."""

from __future__ import annotations

import ast
from pathlib import Path

import mtlib

PACKAGE = Path(mtlib.__file__).parent

# wing -> the wings it may import (every wing may import the base modules at the top level)
WINGS = {
    "base": set(),
    "core": {"core"},
    "standin": {"core", "standin"},
    "paper": {"core", "paper"},
    "forensics": {"core", "paper", "forensics"},
    "report": {"core", "standin", "paper", "forensics", "report"},
}
SUBPACKAGE_WING = {"data": "core", "models": "core", "training": "core", "standin": "standin",
                   "paper": "paper", "forensics": "forensics", "report": "report"}


def wing_of(module: str) -> str:
    """``mtlib.training.fit`` -> "core"; a top-level module (``mtlib.paths``) -> "base"."""
    parts = module.split(".")
    return SUBPACKAGE_WING.get(parts[1], "base") if len(parts) > 1 else "base"


def module_name(path: Path, package: Path = PACKAGE) -> str:
    rel = path.relative_to(package.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _type_checking_only(node: ast.AST, parents: dict[ast.AST, ast.AST]) -> bool:
    while node in parents:
        node = parents[node]
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            return True
    return False


def imports_of(path: Path) -> set[str]:
    """The ``mtlib`` modules a source file imports at run time (not under TYPE_CHECKING)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    parents = {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}
    out = set()
    for node in ast.walk(tree):
        if _type_checking_only(node, parents):
            continue
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names if a.name.startswith("mtlib.")}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module == "mtlib":
                out |= {f"mtlib.{a.name}" for a in node.names}
            elif node.module.startswith("mtlib."):
                out.add(node.module)
    return out


def layering_violations(package: Path = PACKAGE) -> list[str]:
    bad = []
    for path in sorted(package.rglob("*.py")):
        name = module_name(path, package)
        if name == "mtlib.cli":
            continue  # the command line loads every wing's commands by name
        mine = wing_of(name)
        for target in sorted(imports_of(path)):
            theirs = wing_of(target)
            if theirs != "base" and theirs not in WINGS[mine]:
                bad.append(f"{name} ({mine}) imports {target} ({theirs})")
    return bad


def test_wings_import_one_way():
    assert layering_violations() == []


def test_the_check_sees_a_violation(tmp_path):
    """A core module that imports the report is caught, also inside a function."""
    fake = tmp_path / "mtlib"
    (fake / "training").mkdir(parents=True)
    (fake / "training" / "bad.py").write_text("def f():\n    from mtlib.report import plots\n")
    (fake / "paper").mkdir()
    (fake / "paper" / "ok.py").write_text(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n"
        "    from mtlib.report.profiles import Profile\n")
    assert layering_violations(fake) == [
        "mtlib.training.bad (core) imports mtlib.report (report)"]


def test_every_subpackage_has_a_wing():
    subpackages = {p.parent.name for p in PACKAGE.glob("*/__init__.py")}
    assert subpackages <= set(SUBPACKAGE_WING)
