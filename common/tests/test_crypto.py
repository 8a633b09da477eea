from __future__ import annotations

import pytest

from common.crypto import SecretBox


def test_secret_box_round_trip() -> None:
    box = SecretBox.from_secret("a configured secret", purpose="test")
    sealed = box.encrypt(b"refresh-token", context=b"tenant-1")
    assert b"refresh-token" not in sealed
    assert box.decrypt(sealed, context=b"tenant-1") == b"refresh-token"


def test_ciphertext_is_bound_to_its_context_and_key() -> None:
    box = SecretBox.from_secret("a configured secret", purpose="test")
    sealed = box.encrypt(b"refresh-token", context=b"tenant-1")
    with pytest.raises(ValueError, match="does not decrypt"):
        box.decrypt(sealed, context=b"tenant-2")
    other = SecretBox.from_secret("a configured secret", purpose="another purpose")
    with pytest.raises(ValueError, match="does not decrypt"):
        other.decrypt(sealed, context=b"tenant-1")
