"""The layers of DESIGN.md §2, read from the source: who may import whom.

- No domain app (tariffs, stations, chargers, orders) imports `integrations`; they reach vendors through
  the adapter registry.
- No app's admin imports another app's admin: the shared pieces are `backoffice.adminkit`'s.
- `backoffice` imports none of our apps, so every app may import it.
- `audit` (the history of Django's users and groups) imports none of them either.
- `accounts` (staff sign-in) imports none of them either, and `backoffice` does not import it.
"""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOMAIN_APPS = ("tariffs", "stations", "chargers", "orders")
APPS = (*DOMAIN_APPS, "integrations")


def imported_modules(text: str, package: str) -> set[str]:
    """Every module `text` imports, absolute, its relative imports resolved against `package`."""
    found = set()
    for node in ast.walk(ast.parse(text)):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                parts = package.split(".")
                base = parts[: len(parts) - (node.level - 1)]
                module = ".".join([*base, node.module] if node.module else base)
            else:
                module = node.module or ""
            found.add(module)
            found.update(f"{module}.{alias.name}" for alias in node.names)
    return found


def file_imports(path: Path) -> set[str]:
    parts = path.relative_to(ROOT).with_suffix("").parts
    package = ".".join(parts if path.name == "__init__.py" else parts[:-1])
    if path.name == "__init__.py":
        package = ".".join(parts[:-1])
    return imported_modules(path.read_text(encoding="utf-8"), package)


def sources(app: str):
    return sorted(path for path in (ROOT / app).rglob("*.py"))


def offending(paths, forbidden) -> list[str]:
    return sorted(
        f"{path.relative_to(ROOT)} imports {module}"
        for path in paths
        for module in file_imports(path)
        if forbidden(module)
    )


def is_admin_module(module: str, app: str) -> bool:
    parts = module.split(".")
    return len(parts) >= 2 and parts[0] == app and parts[1] == "admin"


@pytest.mark.parametrize("app", DOMAIN_APPS)
def test_no_domain_app_imports_the_integrations(app):
    assert offending(sources(app), lambda module: module.split(".")[0] == "integrations") == []


@pytest.mark.parametrize("app", APPS)
def test_no_apps_admin_imports_another_apps_admin(app):
    admin_files = [path for path in sources(app) if "admin" in path.relative_to(ROOT / app).parts[:1]
                   or path.relative_to(ROOT / app).parts[0] == "admin.py"]
    assert admin_files, f"{app} has an admin"
    others = [other for other in APPS if other != app]
    assert offending(admin_files, lambda module: any(is_admin_module(module, other) for other in others)) == []


def test_backoffice_imports_none_of_our_apps():
    assert offending(sources("backoffice"), lambda module: module.split(".")[0] in (*APPS, "config")) == []


def test_audit_imports_none_of_our_apps():
    assert sources("audit")
    assert offending(sources("audit"), lambda module: module.split(".")[0] in (*APPS, "config")) == []


def test_accounts_imports_none_of_our_apps_and_backoffice_not_it():
    assert sources("accounts")
    assert offending(sources("accounts"), lambda module: module.split(".")[0] in (*APPS, "config")) == []
    assert offending(sources("backoffice"), lambda module: module.split(".")[0] == "accounts") == []


def test_the_walk_sees_each_import_it_must_refuse():
    # A check that cannot fail proves nothing: the walk resolves plain, from- and relative imports.
    text = "from integrations.tomda import client\nimport chargers.admin\nfrom ..admin import x\nfrom . import y\n"

    modules = imported_modules(text, package="orders.admin")

    assert "integrations.tomda" in modules
    assert is_admin_module("chargers.admin", "chargers") and "chargers.admin" in modules
    assert "orders.admin.x" in modules and "admin" not in modules  # `..` from inside orders.admin is orders
    assert "orders.admin.y" in modules
