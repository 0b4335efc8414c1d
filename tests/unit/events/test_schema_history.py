"""Every schema ever committed stays a promise: the current models must accept whatever any
earlier commit's schema of the same major version accepted. This closes the gap that
`compat write --allow-breaking` followed by a commit would otherwise leave."""

import json
import subprocess
from pathlib import Path

from shared.events.compat import breaking_changes
from shared.events.json_schemas import generated_schemas

ROOT = Path(__file__).resolve().parents[3]
SCHEMAS = "shared/schemas"


def _git(*args: str) -> str:
    return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, check=True).stdout


def _schemas_at(commit: str) -> dict[str, dict]:
    names = [n for n in _git("ls-tree", "--name-only", f"{commit}:{SCHEMAS}").split() if n.endswith(".json")]
    return {Path(n).stem: json.loads(_git("show", f"{commit}:{SCHEMAS}/{n}")) for n in names}


def test_no_commit_in_history_published_a_schema_the_models_now_break():
    commits = _git("log", "--format=%H", "--", SCHEMAS).split()
    assert commits, "git history of shared/schemas not found: the check needs a clone with history"
    current = generated_schemas()
    problems = {commit[:10]: found for commit in commits if (found := breaking_changes(_schemas_at(commit), current))}
    assert problems == {}


def test_the_history_check_notices_a_removed_field():
    commit = _git("log", "-1", "--format=%H", "--", SCHEMAS).strip()
    current = generated_schemas()
    submitted = "uk.gov.innovation.idea.submitted.v1"
    narrowed = json.loads(json.dumps(current[submitted]))
    del narrowed["properties"]["team"]
    assert breaking_changes(_schemas_at(commit), {**current, submitted: narrowed})
