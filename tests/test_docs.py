"""Documentation kept in step with the code."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_readme_rule_table_matches_rules_py() -> None:
    proc = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "gen_rules_doc.py"), "--check"],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stdout


def test_readme_test_command_is_what_ci_runs() -> None:
    readme = (ROOT / "README.md").read_text()
    ci = (ROOT / ".ci" / "run").read_text()
    command = "python3 -m pytest -q -p no:cacheprovider"
    assert f"```sh\n{command}\n```" in readme
    assert ci.rstrip().splitlines()[-1] == command


def test_every_rule_id_is_kebab_case_and_unique() -> None:
    import re

    from elfaudit.policy.rules import Rule

    ids = [r.value.id for r in Rule]
    assert len(ids) == len(set(ids))
    assert all(re.fullmatch(r"[a-z]+(-[a-z]+)*", i) for i in ids)
