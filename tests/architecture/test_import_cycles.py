"""The layers of docs/architecture.md hold: no circle of imports among the project's modules."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CHECK = ROOT / "scripts" / "check_import_cycles.py"


def run_check(root: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(CHECK), str(root)], capture_output=True, text=True, check=False)


def test_the_project_has_no_import_circle():
    result = run_check(ROOT)
    assert result.returncode == 0, result.stdout
    assert result.stdout.strip().startswith("0 import circle(s)")


def test_an_import_hidden_inside_a_function_still_makes_a_circle(tmp_path):
    app = tmp_path / "app"
    app.mkdir()
    (app / "__init__.py").write_text("")
    (app / "runtime.py").write_text("def dispatch():\n    from app import tasks\n    return tasks\n")
    (app / "tasks.py").write_text("from app.runtime import dispatch\n")
    (app / "engine.py").write_text("import app.runtime\n")
    result = run_check(tmp_path)
    assert result.returncode == 1
    assert "circle of 2 modules: app.runtime, app.tasks" in result.stdout


def test_relative_imports_are_followed(tmp_path):
    package = tmp_path / "pkg"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "models.py").write_text("from .trust import valid\n")
    (package / "trust.py").write_text("from . import models\n")
    result = run_check(tmp_path)
    assert result.returncode == 1
    assert "pkg.models, pkg.trust" in result.stdout
