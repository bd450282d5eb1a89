"""What one delivery is, apart from HTTP: how hard it tries (RetryPolicy), what came of it
(DeliveryResult) and what the dispatcher asks of a sink (Sink). The HTTP machinery that
follows the policy is health/sinks/http.py."""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Protocol, Self, runtime_checkable

from health.sinks.notification import Deliverable


@dataclass(frozen=True)
class RetryPolicy:
    """How hard one delivery tries. Defaults suit production; tests shrink the times."""

    max_attempts: int = 5
    max_total_seconds: float = 30.0  # whole delivery, waits included
    backoff_initial: float = 0.5  # first wait after a 5xx / connection error
    backoff_factor: float = 2.0
    backoff_max: float = 8.0
    jitter: float = 0.1  # each backoff is shortened by up to this fraction (spreads retries)
    request_timeout: float = 10.0  # one HTTP exchange
    max_rate_limit_wait: float = 60.0  # longest pre-send wait honoured from rate-limit headers

    def __post_init__(self) -> None:
        if not isinstance(self.max_attempts, int) or self.max_attempts < 1:
            raise ValueError("RetryPolicy.max_attempts must be an int >= 1")
        for name in (
            "max_total_seconds",
            "backoff_initial",
            "backoff_max",
            "request_timeout",
            "max_rate_limit_wait",
        ):
            if not getattr(self, name) > 0:
                raise ValueError(f"RetryPolicy.{name} must be positive")
        if self.backoff_factor < 1:
            raise ValueError("RetryPolicy.backoff_factor must be >= 1")
        if not 0 <= self.jitter < 1:
            raise ValueError("RetryPolicy.jitter must be within [0, 1)")

    def backoff(self, failures: int) -> float:
        """Wait before retry number ``failures`` (1-based) after a 5xx or connection error."""
        base = min(self.backoff_max, self.backoff_initial * self.backoff_factor ** (failures - 1))
        return base * (1 - self.jitter * random.random())


@dataclass(frozen=True)
class DeliveryResult:
    """What happened to one item at one sink; ``detail`` is redacted and safe to store."""

    ok: bool
    status: int | None  # last HTTP status; None when no response (connection error, disabled)
    detail: str
    attempts: int


@runtime_checkable
class Sink(Protocol):
    """What the dispatcher needs from a sink."""

    name: str

    @property
    def disabled(self) -> bool: ...

    async def deliver(self, item: Deliverable) -> DeliveryResult: ...

    def describe(self) -> str: ...

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def aclose(self) -> None: ...
