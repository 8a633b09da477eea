"""An answer that can be given again byte for byte (Idempotency-Key replays)."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import Response

REPLAYED_HEADER = "Idempotent-Replayed"


@dataclass(frozen=True)
class Replayable:
    status: int
    # The JSON text of the body, exactly as sent the first time.
    body: str
    replayed: bool = False

    def response(self) -> Response:
        headers = {REPLAYED_HEADER: "true"} if self.replayed else None
        return Response(
            self.body, status_code=self.status, media_type="application/json", headers=headers
        )
