"""The examples in docs/events.md are valid events of the type they are listed under."""

import json
import re
from pathlib import Path

from shared.events import EVENT_TYPES

DOC = (Path(__file__).resolve().parents[3] / "docs" / "events.md").read_text()


def test_every_type_has_a_valid_example():
    examples = dict(re.findall(r"### `([^`]+)`.*?```json\n(.*?)\n```", DOC, flags=re.S))
    assert set(examples) == set(EVENT_TYPES)
    for event_type, example in examples.items():
        EVENT_TYPES[event_type].model_validate_json(json.dumps(json.loads(example)))
