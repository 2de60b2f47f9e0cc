"""Guards for the layering rules of docs/architecture.md."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "workbench"
STDLIB = set(sys.stdlib_module_names)


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def _modules(folder: str) -> list[Path]:
    return sorted((PACKAGE / folder).rglob("*.py"))


@pytest.mark.parametrize("folder", ["domain", "formats", "recommenders"])
def test_pure_layers_import_only_the_standard_library_and_themselves(folder):
    pure = ("workbench.domain", "workbench.formats") + (("workbench.recommenders",) if folder == "recommenders" else ())
    for path in _modules(folder):
        for name in _imports(path):
            top = name.split(".")[0]
            allowed = top in STDLIB or top == "__future__" or name.startswith(pure)
            assert allowed, f"{path.relative_to(PACKAGE.parent)} imports {name}"


def test_metrics_import_the_standard_library_and_the_domain_and_numpy_only_inside_functions():
    """``workbench/metrics`` is pure too, except numpy, imported lazily so importing it (at app start) stays cheap."""
    for path in _modules("metrics"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in tree.body:
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module]
            for name in names:
                top = name.split(".")[0]
                allowed = top in STDLIB or top == "__future__" or name.startswith(("workbench.domain", "workbench.metrics"))
                assert allowed, f"{path.relative_to(PACKAGE.parent)} imports {name} at module level"
        for name in _imports(path):
            top = name.split(".")[0]
            allowed = top in STDLIB or top in ("__future__", "numpy") or name.startswith(("workbench.domain", "workbench.metrics"))
            assert allowed, f"{path.relative_to(PACKAGE.parent)} imports {name}"


def test_services_never_import_flask():
    for path in _modules("services"):
        for name in _imports(path):
            assert not name.startswith(("flask", "werkzeug.wrappers", "workbench.api", "workbench.web", "workbench.auth")), (
                f"{path.relative_to(PACKAGE.parent)} imports {name}"
            )


def test_services_never_commit():
    for path in _modules("services"):
        source = path.read_text(encoding="utf-8")
        assert ".commit()" not in source, f"{path.relative_to(PACKAGE.parent)} commits; its caller owns the unit of work"
        # A transaction of a service's own, on another connection, is one exception, named here: the
        # export's stored lines (a cache the caller's transaction must not wait for; docs/architecture.md).
        owns = source.count("engine.begin()")
        expected = 1 if path.name == "exporting.py" else 0
        assert owns == expected, f"{path.relative_to(PACKAGE.parent)} opens {owns} transactions of its own (expected {expected})"


@pytest.mark.parametrize("folder", ["api", "web"])
def test_no_sql_in_views(folder):
    for path in _modules(folder):
        source = path.read_text(encoding="utf-8")
        assert "select(" not in source and "sqlalchemy" not in source, (
            f"{path.relative_to(PACKAGE.parent)} builds SQL; put it in services/"
        )


def test_only_config_reads_the_environment():
    for path in PACKAGE.rglob("*.py"):
        if path.name == "config.py":
            continue
        source = path.read_text(encoding="utf-8")
        assert "os.environ" not in source and "getenv(" not in source, (
            f"{path.relative_to(PACKAGE.parent)} reads the environment; only workbench/config.py does"
        )


def test_templates_never_mark_text_safe():
    templates = Path(__file__).resolve().parents[1] / "templates"
    for path in templates.rglob("*.html"):
        source = path.read_text(encoding="utf-8")
        for line_no, line in enumerate(source.splitlines(), 1):
            if "|safe" in line.replace(" ", ""):
                assert "guidelines_html" in line, f"{path.name}:{line_no} marks something safe: {line.strip()}"
            assert "style=" not in line, f"{path.name}:{line_no} has an inline style (the CSP forbids it)"
            assert "<script>" not in line, f"{path.name}:{line_no} has an inline script (the CSP forbids it)"


def test_the_app_starts_without_numpy():
    """numpy (the bootstrap of the agreement figures) loads on first use, not when the app starts."""
    import subprocess

    code = (
        "import sys; from workbench import create_app; "
        "create_app({'SECRET_KEY': 'x', 'DATABASE_URL': 'sqlite://'}); "
        "print('numpy' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=PACKAGE.parent)
    assert out.stdout.strip() == "False"
