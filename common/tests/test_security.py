from __future__ import annotations

import time
from typing import Any

import pytest
from joserfc.jwk import ECKey

from common.errors import Unavailable
from common.security import JwksKeySource


def _jwks(*kids: str) -> dict[str, Any]:
    keys = [
        ECKey.generate_key("P-256", parameters={"kid": kid}).as_dict(private=False) for kid in kids
    ]
    return {"keys": keys}


async def test_known_keys_outlive_an_auth_outage() -> None:
    answers: list[dict[str, Any] | Exception] = [_jwks("k1"), Unavailable("auth is down")]
    calls = 0

    async def fetch() -> dict[str, Any]:
        nonlocal calls
        calls += 1
        answer = answers[min(calls, len(answers)) - 1]
        if isinstance(answer, Exception):
            raise answer
        return answer

    source = JwksKeySource(fetch, ttl_seconds=60)
    assert await source.key_set("k1") is not None
    source._fetched_at = time.monotonic() - 61  # the cache has expired and auth is down
    assert await source.key_set("k1") is not None
    assert await source.key_set("k1") is not None  # no second attempt inside the back-off
    assert calls == 2


async def test_no_keys_and_no_auth_is_unavailable() -> None:
    async def fetch() -> dict[str, Any]:
        raise Unavailable("auth is down")

    with pytest.raises(Unavailable):
        await JwksKeySource(fetch).key_set("k1")


async def test_unknown_kid_is_refetched_at_most_every_ten_seconds() -> None:
    calls = 0

    async def fetch() -> dict[str, Any]:
        nonlocal calls
        calls += 1
        return _jwks("k1") if calls == 1 else _jwks("k1", "k2")

    source = JwksKeySource(fetch)
    assert await source.key_set("k1") is not None
    assert await source.key_set("k2") is None  # just fetched: no refetch yet
    source._fetched_at -= 11
    assert await source.key_set("k2") is not None
    assert calls == 2
