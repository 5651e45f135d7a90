"""The shape of the code, checked: import layers (import-linter), no import cycle
between modules, no oversized function or module."""

import ast
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
IMPORTLINTER = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]
ROOT_PACKAGES = IMPORTLINTER["root_packages"]
# Project code that is not a package of the import graph: benchmark scripts (run with
# bench/ on sys.path, they import ``common``), still held to the size rule.
SCRIPTS = ["bench"]
# The project package's own __init__ only loads the Celery app (Django's convention);
# it cannot be a layer without putting every unicommerce module in that layer.
OUTSIDE_LAYERS = {"unicommerce"}
MAX_FUNCTION_LINES = 60
MAX_MODULE_LINES = 800


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _modules(packages) -> dict[str, Path]:
    """Dotted name -> file of every Python module under ``packages`` (migrations
    included: they belong to their app's layer like any other module)."""
    found = {}
    for package in packages:
        for path in sorted((ROOT / package).rglob("*.py")):
            found[_module_name(path)] = path
    return found


def test_the_import_layering_contracts_hold():
    lint_imports = Path(sys.executable).parent / "lint-imports"
    result = subprocess.run(
        [str(lint_imports), "--no-cache"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )

    assert result.returncode == 0, result.stdout + result.stderr
    assert "Contracts: 3 kept, 0 broken." in result.stdout


def test_every_package_of_the_project_is_a_root_package_of_the_contracts():
    packages = {
        path.parent.name
        for path in ROOT.glob("*/__init__.py")
        if path.parent.name not in {"tests", *SCRIPTS}
    }

    assert packages - set(ROOT_PACKAGES) == set(), "add to root_packages in pyproject.toml"


def _layer_modules() -> set[str]:
    names = set()
    for contract in IMPORTLINTER["contracts"]:
        if contract["type"] != "layers":
            continue
        for layer in contract["layers"]:
            for name in layer.replace(":", "|").split("|"):
                names.add(name.strip().strip("()"))
    return names


def test_every_module_sits_in_a_layer():
    layers = _layer_modules()

    def covered(module: str) -> bool:
        return any(module == layer or module.startswith(f"{layer}.") for layer in layers)

    outside = sorted(
        module
        for module in _modules(ROOT_PACKAGES)
        if module not in OUTSIDE_LAYERS and not covered(module)
    )

    assert outside == [], "put these modules in a layer of pyproject.toml's layers contract"


def test_the_layout_of_the_design_card():
    for path in [
        "manage.py",
        "pyproject.toml",
        "uv.lock",
        "docker-compose.yml",
        "Dockerfile",
        "README.md",
        "Makefile",
        ".ci/run",
        "bench",
        "docs",
        "templates",
        "tests",
        "unicommerce/settings/base.py",
        "unicommerce/settings/local.py",
        "unicommerce/settings/test.py",
        "unicommerce/settings/production.py",
        "unicommerce/celery.py",
        "unicommerce/urls.py",
        "unicommerce/wsgi.py",
        "unicommerce/asgi.py",
    ]:
        assert (ROOT / path).exists(), path
    for app in ["catalog", "inventory", "orders", "customers", "payments", "loyalty", "crm", "pos"]:
        assert (ROOT / app / "apps.py").is_file(), app


FACES = {
    "api",
    "admin",
    "apps",
    "migrations",
    "management",
    "templatetags",
    "urls",
    "web",
    "locale",
    "__init__",
}


def test_every_domain_module_is_covered_by_the_no_face_contract():
    [contract] = [c for c in IMPORTLINTER["contracts"] if c["name"].startswith("Domain code")]
    listed = set(contract["source_modules"])
    domain = set()
    for package in [
        "catalog",
        "inventory",
        "orders",
        "customers",
        "payments",
        "loyalty",
        "crm",
        "unicommerce/events",
        "unicommerce/channels",
        "unicommerce/webhooks",
        "unicommerce/messaging",
    ]:
        for path in (ROOT / package).iterdir():
            is_module = path.suffix == ".py" or (path / "__init__.py").exists()
            if is_module and path.stem not in FACES:
                domain.add(f"{package.replace('/', '.')}.{path.stem}")

    assert domain - listed == set(), "add these modules to the contract in pyproject.toml"


# -- import cycles -------------------------------------------------------------------


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _top_level_imports(body: list[ast.stmt]):
    """Import statements run when the module is imported: at module level, in its
    class bodies and its module-level if/try/with blocks; not in functions, not under
    ``if TYPE_CHECKING:``."""
    for node in body:
        if isinstance(node, ast.Import | ast.ImportFrom):
            yield node
        elif isinstance(node, ast.If):
            if not _is_type_checking(node.test):
                yield from _top_level_imports(node.body)
            yield from _top_level_imports(node.orelse)
        elif isinstance(node, ast.Try):
            for block in (node.body, node.orelse, node.finalbody):
                yield from _top_level_imports(block)
            for handler in node.handlers:
                yield from _top_level_imports(handler.body)
        elif isinstance(node, ast.With | ast.ClassDef):
            yield from _top_level_imports(node.body)


def _imported_modules(module: str, path: Path, known: set[str]) -> set[str]:
    """The project modules ``module`` imports at module level: ``from a import b``
    names ``a.b`` when that is a module, ``a`` otherwise."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found = set()
    for node in _top_level_imports(ast.parse(path.read_text()).body):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
            continue
        base = node.module or ""
        if node.level:
            anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
            base = ".".join([*anchor, base] if base else anchor)
        for alias in node.names:
            found.add(f"{base}.{alias.name}" if f"{base}.{alias.name}" in known else base)
    return {name for name in found if name in known and name != module}


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """One cycle per strongly connected group of modules (Tarjan, iterative)."""
    index, low, on_stack, stack, groups = {}, {}, set(), [], []
    for start in sorted(graph):
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is None:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    group = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        group.append(member)
                        if member == node:
                            break
                    if len(group) > 1:
                        groups.append(set(group))
            elif child not in index:
                index[child] = low[child] = len(index)
                stack.append(child)
                on_stack.add(child)
                work.append((child, iter(sorted(graph[child]))))
            elif child in on_stack:
                low[node] = min(low[node], index[child])
    return [_one_cycle(graph, group) for group in groups]


def _one_cycle(graph: dict[str, set[str]], group: set[str]) -> list[str]:
    """A shortest path from the group's first module back to itself, inside the group."""
    start = min(group)
    paths = {start: [start]}
    frontier = [start]
    while frontier:
        following = []
        for node in frontier:
            for child in sorted(graph[node] & group):
                if child == start:
                    return [*paths[node], start]
                if child not in paths:
                    paths[child] = [*paths[node], child]
                    following.append(child)
        frontier = following
    return sorted(group)


def test_no_import_cycle_between_modules_at_module_level():
    modules = _modules(ROOT_PACKAGES)
    known = set(modules)
    graph = {name: _imported_modules(name, path, known) for name, path in modules.items()}

    cycles = [" -> ".join(cycle) for cycle in _cycles(graph)]

    assert cycles == [], "import cycles (module-level imports):\n" + "\n".join(cycles)


def test_the_cycle_finder_finds_a_cycle():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a", "d"}, "d": set()}

    assert _cycles(graph) == [["a", "b", "c", "a"]]


# -- sizes ---------------------------------------------------------------------------


def _project_code():
    for path in sorted(_modules([*ROOT_PACKAGES, *SCRIPTS]).values()):
        if "migrations" not in path.relative_to(ROOT).parts:
            yield path


def test_no_function_over_60_lines_and_no_module_over_800():
    offenders = []
    for path in _project_code():
        source = path.read_text()
        name = path.relative_to(ROOT)
        if source.count("\n") > MAX_MODULE_LINES:
            offenders.append(f"{name}: {source.count(chr(10))} lines")
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                length = node.end_lineno - node.lineno + 1
                if length > MAX_FUNCTION_LINES:
                    offenders.append(f"{name}:{node.lineno} {node.name}(): {length} lines")

    assert offenders == [], "split these:\n" + "\n".join(offenders)
