"""The import direction of the house: a pure domain, services and store below thin adapters."""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src" / "ketacare"
ADAPTERS = {"api", "web", "cli", "fhir", "reports", "http"}
ENTRY_POINTS = {"ketacare.app", "ketacare.__main__"}  # composition roots may wire adapters together
DOMAIN_THIRD_PARTY = {"numpy", "scipy"}
CLOCK_CALLS = {
    ("datetime", "now"),
    ("datetime", "utcnow"),
    ("date", "today"),
    ("time", "time"),
    ("time", "monotonic"),
    ("time", "perf_counter"),
}


def load_tree(root: Path = SRC) -> dict[str, str]:
    """Return {module name: source} for every module under src/ketacare."""
    out = {}
    for path in root.rglob("*.py"):
        rel = path.relative_to(root.parent).with_suffix("")
        parts = list(rel.parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = path.read_text("utf-8")
    return out


def _imports(module: str, source: str) -> list[str]:
    tree = ast.parse(source)
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = (
                    module.split(".")[: -node.level] if not module.endswith("__init__") else module.split(".")
                )
                found.append(".".join(base + ([node.module] if node.module else [])))
            elif node.module:
                found.append(node.module)
    return found


def _layer(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def violations(tree: dict[str, str]) -> list[str]:
    """Return every import that breaks the layering rules."""
    bad = []
    for module, source in tree.items():
        layer = _layer(module)
        for imp in _imports(module, source):
            top = imp.split(".")[0]
            target = _layer(imp) if top == "ketacare" else None
            if layer == "domain":
                if top == "ketacare" and target != "domain":
                    bad.append(f"{module} imports {imp}: domain imports nothing of ours outside domain")
                elif (
                    top not in ("ketacare", "__future__")
                    and top not in DOMAIN_THIRD_PARTY
                    and top not in __import__("sys").stdlib_module_names
                ):
                    bad.append(
                        f"{module} imports {imp}: domain may use only the standard library, numpy, scipy"
                    )
            if target in ADAPTERS and layer not in ADAPTERS and module not in ENTRY_POINTS:
                bad.append(f"{module} imports adapter {imp}: nothing below the adapters imports an adapter")
            if (
                target in ADAPTERS
                and layer in ADAPTERS
                and target != layer
                and target != "http"
                and not (layer == "cli" and target == "cli")
            ):
                bad.append(f"{module} imports another adapter {imp}")
            if layer == "store" and target in {"services", "demo"}:
                bad.append(f"{module} imports {imp}: store sits below services")
    return bad


def clock_reads(tree: dict[str, str]) -> list[str]:
    """Return calls in `domain` that read the clock or the environment."""
    bad = []
    for module, source in tree.items():
        if _layer(module) != "domain":
            continue
        for node in ast.walk(ast.parse(source)):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and isinstance(node.func.value, ast.Name)
                and (node.func.value.id, node.func.attr) in CLOCK_CALLS
            ):
                bad.append(f"{module}:{node.lineno} calls {node.func.value.id}.{node.func.attr}()")
            if (
                isinstance(node, ast.Attribute)
                and isinstance(node.value, ast.Name)
                and (node.value.id, node.attr) == ("os", "environ")
            ):
                bad.append(f"{module}:{node.lineno} reads os.environ")
    return bad


def test_the_code_keeps_the_import_direction():
    assert violations(load_tree()) == []


def test_the_domain_never_reads_the_clock_or_environment():
    assert clock_reads(load_tree()) == []


def test_the_check_catches_domain_importing_store():
    tree = load_tree()
    tree["ketacare.domain.sneaky"] = "from ketacare.store.db import Database\n"
    assert any("ketacare.domain.sneaky imports ketacare.store.db" in v for v in violations(tree))


def test_the_check_catches_services_importing_an_adapter():
    tree = {"ketacare.services.bad": "import ketacare.api.patients\n"}
    assert violations(tree)


def test_the_check_catches_a_clock_read_in_domain():
    tree = {"ketacare.domain.bad": "from datetime import datetime\nx = datetime.now()\n"}
    assert clock_reads(tree)
