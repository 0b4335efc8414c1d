"""Pseudonyms: how a person is named in an event without being named."""

from __future__ import annotations

import hmac
import re
from typing import Final

PSEUDONYM_PATTERN: Final = r"^p_[0-9a-f]{16}$"
_PSEUDONYM_RE: Final = re.compile(PSEUDONYM_PATTERN)


def pseudonymise(secret: bytes | str, person_ref: str) -> str:
    """`p_` + the first 16 hex characters of HMAC-SHA256(department secret, person reference)."""
    key = secret.encode() if isinstance(secret, str) else secret
    if not key:
        raise ValueError("the pseudonym secret must not be empty")
    if not person_ref:
        raise ValueError("the person reference must not be empty")
    return "p_" + hmac.digest(key, person_ref.encode(), "sha256")[:8].hex()  # one C call, no HMAC object


def is_pseudonym(value: object) -> bool:
    return isinstance(value, str) and _PSEUDONYM_RE.fullmatch(value) is not None
