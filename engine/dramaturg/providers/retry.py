"""Helpers for providers talking to web APIs: Retry-After and status classification."""

from __future__ import annotations

import email.utils
import time
from collections.abc import Mapping
from typing import Any

from ..errors import ModelError


def parse_retry_after(value: str | None) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def http_error(
    service: str,
    status: int,
    detail: str,
    headers: Mapping[str, Any] | None = None,
    *,
    key_env: str | None = None,
) -> ModelError:
    """A ModelError for an HTTP status: 408/409/425/429/5xx are transient, the rest permanent."""
    retry_after = parse_retry_after(str((headers or {}).get("retry-after") or "") or None)
    detail = detail.strip()[:300]
    if status in (401, 403):
        return ModelError(
            f"{service} rejected the API key ({status}): {detail}",
            hint=f"set a valid key in the environment variable {key_env}" if key_env else "",
            status=status,
        )
    if status == 429:
        return ModelError(
            f"{service} rate limit (429): {detail}",
            hint="lower the model's concurrency or rate_limit, or wait",
            transient=True,
            retry_after=retry_after,
            status=status,
        )
    transient = status in (408, 409, 425) or status >= 500
    return ModelError(
        f"{service} error ({status}): {detail}",
        transient=transient,
        retry_after=retry_after,
        status=status,
    )
