"""HTTP_WORKERS: a number of worker processes, or auto (one per core this process may use)."""

import pytest
from pydantic import ValidationError

from services.ideas.config import IdeasSettings
from shared.settings import usable_cores


def settings(monkeypatch, workers: str | None) -> IdeasSettings:
    monkeypatch.setenv("INNOVATION_DEVELOPMENT_MODE", "1")
    if workers is None:
        monkeypatch.delenv("HTTP_WORKERS", raising=False)
    else:
        monkeypatch.setenv("HTTP_WORKERS", workers)
    return IdeasSettings()


def test_one_worker_unless_told(monkeypatch):
    assert settings(monkeypatch, None).workers() == 1


def test_a_number_of_workers(monkeypatch):
    assert settings(monkeypatch, "3").workers() == 3


def test_auto_is_one_worker_per_usable_core(monkeypatch):
    monkeypatch.setattr("os.sched_getaffinity", lambda pid: {0, 1, 2})
    assert usable_cores() == 3
    assert settings(monkeypatch, "auto").workers() == 3


@pytest.mark.parametrize("value", ["0", "65", "-1", "many", ""])
def test_other_values_are_refused(monkeypatch, value):
    with pytest.raises(ValidationError, match="http_workers"):
        settings(monkeypatch, value)
