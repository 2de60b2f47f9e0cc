"""``pip install .`` (not editable) gives a working app with templates and static files."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

CHECK = r"""
import sys, workbench
assert "{target}" in workbench.__file__, workbench.__file__
from workbench import create_app
app = create_app({{"TESTING": True, "SECRET_KEY": "x", "DATABASE_URL": "sqlite:///{target}/t.sqlite3"}})
from workbench import migrate
migrate.upgrade(app.extensions["workbench.engine"])
client = app.test_client()
page = client.get("/login")
assert page.status_code == 200 and b"Log in" in page.data, page.status_code
css = client.get("/static/css/workbench.css")
assert css.status_code == 200 and len(css.data) > 100
js = client.get("/static/js/offsets.js")
assert js.status_code == 200, "offsets.js missing from the wheel"
print("installed copy works")
"""


@pytest.mark.slow
def test_wheel_ships_templates_static_migrations_and_works(tmp_path):
    wheel_dir = tmp_path / "wheel"
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--wheel-dir", str(wheel_dir), str(ROOT)],
        check=True, capture_output=True,
    )
    wheel = next(wheel_dir.glob("workbench-*.whl"))
    names = set(zipfile.ZipFile(wheel).namelist())
    for needed in (
        "workbench/templates/base.html",
        "workbench/static/css/workbench.css",
        "workbench/migrations/env.py",
        "workbench/migrations/versions/0001_initial_schema.py",
        "workbench/demo_data/guidelines.md",
        "workbench/demo_data/sample-annotations.json",
        "workbench/migrations/versions/0004_attribution_parent.py",
        "workbench/migrations/versions/0006_suggestions.py",
        "workbench/static/js/suggestions.js",
        "workbench/recommenders/attribution.py",
        "workbench/static/js/adjudicate.js",
        "workbench/templates/web/adjudication.html",
    ):
        assert needed in names, f"{needed} is not in the wheel"
    target = tmp_path / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--target", str(target), str(wheel)],
        check=True, capture_output=True,
    )
    result = subprocess.run(
        [sys.executable, "-c", CHECK.format(target=target)],
        capture_output=True, text=True, env={"PYTHONPATH": str(target), "PATH": "/usr/bin:/bin"}, cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert "installed copy works" in result.stdout
