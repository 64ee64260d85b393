"""The import direction of the house: a pure domain, services and store below thin adapters; and capabilities
that reach each other only through their package's public names."""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src" / "ketacare"
ADAPTERS = {"api", "web", "cli", "fhir", "reports", "http"}
ENTRY_POINTS = {"ketacare.app", "ketacare.__main__"}  # composition roots may wire adapters together
DOMAIN_THIRD_PARTY = {"numpy", "scipy", "babel"}  # babel: dates and times for people (pure, no I/O)
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
                        f"{module} imports {imp}: domain may use only the standard library, numpy, scipy, babel"
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
            if layer in {"domain", "store", "services"} and target == "demo":
                bad.append(f"{module} imports {imp}: only the command line and tests seed the demo clinic")
    return bad


# --- capabilities -------------------------------------------------------------------------------------------

CAPABILITIES = {
    "clinic",
    "patients",
    "access",
    "measurement",
    "eligibility",
    "dosing",
    "pk",
    "sessions",
    "plans",
    "therapy",
    "scheduling",
    "outcomes",
}


def capability_package(module: str) -> str | None:
    """Return the package (or single module) holding `module`'s capability in its layer, or None for kernel.

    `ketacare.services.dosing.orders` -> `ketacare.services.dosing`; `ketacare.api.dosing` -> itself;
    `ketacare.store.tables.sessions` -> itself; `ketacare.services.uow` -> None (kernel, shared by all).
    """
    parts = module.split(".")
    if len(parts) < 3 or parts[0] != "ketacare":
        return None
    depth = 4 if parts[1:3] == ["store", "tables"] else 3
    if len(parts) < depth or parts[depth - 1] not in CAPABILITIES:
        return None
    return ".".join(parts[:depth])


def _capability(module: str) -> str | None:
    pkg = capability_package(module)
    return pkg.rsplit(".", 1)[1] if pkg else None


def public_names(tree: dict[str, str], package: str) -> set[str] | None:
    """Return the names a capability package exports (`__all__`, else every name its `__init__` binds).

    None when `package` is a single module (`api/dosing.py`, `store/tables/sessions.py`): every top-level
    name of such a module is its public surface.
    """
    source = tree.get(package)
    if source is None or not any(m.startswith(package + ".") for m in tree):
        return None
    names: set[str] = set()
    for node in ast.parse(source).body:
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == "__all__" for t in node.targets
        ):
            return {ast.literal_eval(e) for e in node.value.elts}  # type: ignore[attr-defined]
        if isinstance(node, ast.ImportFrom | ast.Import):
            names |= {(a.asname or a.name).split(".")[0] for a in node.names}
        elif isinstance(node, ast.FunctionDef | ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, ast.Assign):
            names |= {t.id for t in node.targets if isinstance(t, ast.Name)}
    return names


def _targets(module: str, source: str) -> list[tuple[str, list[str]]]:
    """Return (imported module, names taken from it) for every import of ours in `source`."""
    out: list[tuple[str, list[str]]] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            out += [(a.name, []) for a in node.names if a.name.startswith("ketacare")]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = module.split(".")[: len(module.split(".")) - node.level]
                base = ".".join(anchor + ([node.module] if node.module else []))
            if base.startswith("ketacare"):
                out.append((base, [a.name for a in node.names]))
    return out


def capability_violations(tree: dict[str, str]) -> list[str]:
    """Return every import by which one capability reaches past another capability's package."""
    bad = []
    modules = set(tree)
    for module, source in tree.items():
        mine = _capability(module)
        if mine is None:
            continue  # kernel modules (uow, db, http, app, rendering...) are shared by all capabilities
        for target, names in _targets(module, source):
            # `from ketacare.services import dosing` names the package itself
            pairs = (
                [(f"{target}.{n}", []) for n in names if f"{target}.{n}" in modules]
                if (capability_package(target) is None)
                else [(target, names)]
            )
            for imp, taken in pairs:
                other = _capability(imp)
                if other is None or other == mine:
                    continue
                pkg = capability_package(imp)
                if imp != pkg:
                    bad.append(f"{module} imports {imp}: capability {other} is used only through {pkg}")
                    continue
                exported = public_names(tree, pkg)
                if exported is not None:
                    bad += [
                        f"{module} imports {n} from {pkg}, which its __init__ does not export"
                        for n in taken
                        if n not in exported
                    ]
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


def test_capabilities_reach_each_other_only_through_their_package():
    assert capability_violations(load_tree()) == []


def test_the_check_catches_a_capability_reaching_into_another_s_private_module():
    tree = load_tree()
    tree["ketacare.services.sessions.sneaky"] = "from ketacare.services.dosing.orders import usable_order\n"
    tree["ketacare.web.sessions.sneaky"] = "import ketacare.domain.pk.solver\n"
    found = capability_violations(tree)
    assert any(
        "ketacare.services.sessions.sneaky imports ketacare.services.dosing.orders" in v for v in found
    )
    assert any("ketacare.web.sessions.sneaky imports ketacare.domain.pk.solver" in v for v in found)


def test_the_check_catches_a_name_the_other_package_does_not_export():
    tree = load_tree()
    tree["ketacare.api.sessions_sneaky"] = ""  # not a capability module: kernel, exempt
    tree["ketacare.services.sessions.sneaky"] = "from ketacare.services.dosing import compute_order\n"
    tree["ketacare.services.eligibility.sneaky"] = "from ketacare.services import dosing\n"
    found = capability_violations(tree)
    assert found == [
        "ketacare.services.sessions.sneaky imports compute_order from ketacare.services.dosing, "
        "which its __init__ does not export"
    ]


def test_a_capability_may_use_its_own_modules_in_every_layer_and_the_kernel():
    tree = {
        "ketacare.web.dosing.pages": "from ketacare.services.dosing.orders import compute_order\n"
        "from ketacare.services.uow import UnitOfWork\nfrom ketacare.web.rendering import render\n",
        "ketacare.services.dosing.orders": "",
        "ketacare.services.uow": "",
        "ketacare.web.rendering": "",
    }
    assert capability_violations(tree) == []


def test_the_check_catches_a_clock_read_in_domain():
    tree = {"ketacare.domain.bad": "from datetime import datetime\nx = datetime.now()\n"}
    assert clock_reads(tree)


def test_the_check_catches_store_importing_services_and_services_importing_the_demo():
    tree = {
        "ketacare.store.tables.bad": "from ketacare.services.access import Actor\n",
        "ketacare.services.patients.bad": "from ketacare.demo.patients import STAFF\n",
    }
    found = violations(tree)
    assert any("ketacare.store.tables.bad imports ketacare.services.access" in v for v in found)
    assert any("ketacare.services.patients.bad imports ketacare.demo.patients" in v for v in found)
