"""Services share only `shared/`: import-linter checks the contracts in pyproject.toml."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _lint_imports(config: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(Path(sys.executable).parent / "lint-imports"), "--config", str(config), "--no-cache"],
        cwd=ROOT, capture_output=True, text=True,
    )


def test_services_import_only_shared_code():
    result = _lint_imports(ROOT / "pyproject.toml")
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_check_catches_a_service_importing_another(tmp_path):
    offender = ROOT / "services" / "notifications" / "_boundary_probe.py"
    offender.write_text("import services.ideas.config\n")
    try:
        result = _lint_imports(ROOT / "pyproject.toml")
    finally:
        offender.unlink()
    assert result.returncode != 0
    assert "services.notifications" in result.stdout
