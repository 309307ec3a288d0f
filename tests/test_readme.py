"""The README's set-up steps stay true: the Python it names, a virtual environment, the two commands."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def test_readme_names_the_python_the_project_requires():
    required = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["requires-python"]
    assert required == ">=3.11"
    assert "Python 3.11 or newer" in README


def test_both_set_up_commands_make_a_virtual_environment_and_end_in_the_documented_command():
    lines = README.splitlines()
    commands = [line.strip() for line in lines if line.startswith("    ") and "pip install" in line]
    assert len(commands) == 2
    wanted = (("requirements.txt", "streamlit run app.py"), ("requirements-dev.txt", "pytest"))
    for command, (requirements, run) in zip(commands, wanted, strict=True):
        assert re.match(r"python3 -m venv \.venv && \. \.venv/bin/activate && ", command), command
        assert f"pip install -r {requirements} && {run}" in command
        assert (ROOT / requirements).is_file()
    assert (ROOT / "app.py").is_file() and (ROOT / "tests").is_dir()
