"""The README's examples run, and CI runs the README's test command."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()


def test_python_examples_run(tmp_path, monkeypatch) -> None:
    """Every Python block, in order, in one namespace: later ones use the index of the
    first."""
    examples = re.findall(r"```python\n(.*?)```", README, re.S)
    assert len(examples) >= 2
    monkeypatch.chdir(tmp_path)
    namespace: dict[str, object] = {}
    for example in examples:
        exec(compile(example, "README.md", "exec"), namespace)


def test_ci_runs_the_readme_test_command() -> None:
    commands = re.findall(r"```sh\n(.*?)\n```", README, re.S)
    assert commands[0] == "pip install . && vedette scan --sample"
    ci = (ROOT / ".ci" / "run").read_text()
    assert f'readme_tests="{commands[1]}"' in ci
