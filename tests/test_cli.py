"""Getting started on the command line: `briefkit new`, ids wherever paths are taken, settings errors."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

BRIEFKIT = Path(sys.executable).with_name("briefkit")


def briefkit(cwd: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("BRIEFKIT_")} | env
    return subprocess.run([BRIEFKIT, *args], cwd=cwd, env=environment, capture_output=True, text=True, timeout=120)


def test_new_makes_a_publication_that_validates_clean_by_its_id(tmp_path: Path) -> None:
    made = briefkit(tmp_path, "new", "weekly-brief", "--title", "Weekly brief")
    assert made.returncode == 0, made.stderr
    assert (tmp_path / "source" / "weekly-brief" / "publication.yaml").is_file()
    checked = briefkit(tmp_path, "validate", "weekly-brief", "--strict")
    assert checked.returncode == 0 and "0 errors, 0 warnings" in checked.stdout, checked.stdout + checked.stderr
    again = briefkit(tmp_path, "new", "weekly-brief")
    assert again.returncode == 2 and "already exists" in again.stderr
    bad = briefkit(tmp_path, "new", "Weekly Brief")
    assert bad.returncode == 2 and "not a publication id" in bad.stderr


def test_validate_names_what_is_neither_an_id_nor_a_directory(tmp_path: Path) -> None:
    result = briefkit(tmp_path, "validate", "no-such-brief")
    assert result.returncode == 1 and "BK100" in result.stdout and "no-such-brief" in result.stdout


def test_a_setting_of_the_wrong_type_is_a_usage_error_naming_it(tmp_path: Path) -> None:
    result = briefkit(tmp_path, "validate", BRIEFKIT_MAX_FILE_BYTES="lots")
    assert result.returncode == 2 and "BRIEFKIT_MAX_FILE_BYTES='lots'" in result.stderr
    assert "Traceback" not in result.stderr
