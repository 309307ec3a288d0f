"""Fault injection: the failures a client of Legnext must survive, on demand.

Off by default. A :class:`FaultConfig` says how often a fault fires on an API request and which
faults may fire; the :class:`FaultInjector` draws them and can be reconfigured while the server runs
(from Python, or by ``POST /_sandbox/faults``). The faults:

- ``"500"``: HTTP 500 with a top-level error body; in ``create_on_500`` of the cases (about half by
  default) the request is carried out first, as a real server may fail after doing the work;
- ``"502"``, ``"503"``: a gateway's HTML error page; nothing is created (a 503 carries
  ``Retry-After`` when ``unavailable_retry_after`` is set, as a server in maintenance may);
- ``"429"``: rate limited, with ``Retry-After``; nothing is created;
- ``"slow"``: the request is carried out, and the answer is held back ``slow_seconds`` (longer than a
  client's timeout, so the client gives up with the outcome unknown);
- ``"drop"``: the connection is closed with no HTTP answer at all; nothing is created;
- ``"lost_answer"``: the job IS created, then the connection is closed with no answer (POST only).
"""

from __future__ import annotations

import random
import threading
from dataclasses import asdict, dataclass, field, replace
from typing import Any

FAULT_KINDS = ("500", "502", "503", "429", "slow", "drop", "lost_answer")
#: Faults that only make sense for a request that creates something.
POST_ONLY_FAULTS = frozenset({"lost_answer"})


@dataclass(frozen=True)
class FaultConfig:
    """Which faults may fire on ``/api/...`` requests, and how often (``rate`` 0-1, per request)."""

    rate: float = 0.0
    kinds: frozenset[str] = frozenset(FAULT_KINDS)
    #: How long a "slow" answer is held back, in real seconds.
    slow_seconds: float = 35.0
    #: The ``Retry-After`` value (seconds) sent with an injected 429.
    retry_after: int = 2
    #: The ``Retry-After`` value (seconds) sent with an injected 503; None sends none.
    unavailable_retry_after: int | None = None
    #: The share of injected 500s that come after the request was carried out.
    create_on_500: float = 0.5
    #: HTTP methods faults apply to.
    methods: frozenset[str] = frozenset({"GET", "POST"})

    def __post_init__(self) -> None:
        object.__setattr__(self, "kinds", frozenset(self.kinds))
        object.__setattr__(self, "methods", frozenset(m.upper() for m in self.methods))
        unknown = self.kinds - set(FAULT_KINDS)
        if unknown:
            raise ValueError(f"unknown fault kinds: {sorted(unknown)}; known: {list(FAULT_KINDS)}")
        if not 0.0 <= self.rate <= 1.0:
            raise ValueError("rate must be between 0 and 1")
        if not 0.0 <= self.create_on_500 <= 1.0:
            raise ValueError("create_on_500 must be between 0 and 1")
        if self.slow_seconds < 0 or self.retry_after < 0 or (self.unavailable_retry_after or 0) < 0:
            raise ValueError("slow_seconds and retry_after must not be negative")

    @classmethod
    def only(cls, kind: str, **overrides: Any) -> FaultConfig:
        """Every API request gets fault ``kind`` (rate 1)."""
        return cls(rate=1.0, kinds=frozenset({kind}), **overrides)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> FaultConfig:
        allowed = {"rate", "kinds", "slow_seconds", "retry_after", "unavailable_retry_after"}
        allowed |= {"create_on_500", "methods"}
        unknown = set(data) - allowed
        if unknown:
            raise ValueError(f"unknown fault settings: {sorted(unknown)}")
        values = dict(data)
        for name in ("kinds", "methods"):
            if name in values:
                if not isinstance(values[name], list) or not all(isinstance(v, str) for v in values[name]):
                    raise ValueError(f"{name} must be a list of strings")
                values[name] = frozenset(values[name])
        for name in ("rate", "slow_seconds", "create_on_500"):
            if name in values and (
                isinstance(values[name], bool) or not isinstance(values[name], int | float)
            ):
                raise ValueError(f"{name} must be a number")
        if "retry_after" in values and (
            isinstance(values["retry_after"], bool) or not isinstance(values["retry_after"], int)
        ):
            raise ValueError("retry_after must be an integer")
        late = values.get("unavailable_retry_after")
        if late is not None and (isinstance(late, bool) or not isinstance(late, int)):
            raise ValueError("unavailable_retry_after must be an integer or null")
        return cls(**values)

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["kinds"] = sorted(self.kinds)
        data["methods"] = sorted(self.methods)
        return data


@dataclass
class FaultDecision:
    kind: str
    #: For "500": whether the request is carried out before the error is sent.
    perform_first: bool = False
    extra: dict[str, Any] = field(default_factory=dict)


class FaultInjector:
    """Draws faults per request from the current config; thread-safe, reconfigurable at run time."""

    def __init__(self, config: FaultConfig | None = None, seed: int | None = None) -> None:
        self._config = config or FaultConfig()
        self._rng = random.Random(seed)
        self._lock = threading.Lock()
        self.fired: dict[str, int] = {}

    @property
    def config(self) -> FaultConfig:
        with self._lock:
            return self._config

    def configure(self, config: FaultConfig | None = None, **changes: Any) -> FaultConfig:
        """Replace the config, or change some of its fields (``configure(rate=0.5)``)."""
        with self._lock:
            base = config or self._config
            self._config = replace(base, **changes) if changes else base
            return self._config

    def off(self) -> None:
        self.configure(FaultConfig())

    def draw(self, method: str) -> FaultDecision | None:
        with self._lock:
            config = self._config
            if config.rate <= 0 or method.upper() not in config.methods:
                return None
            kinds = sorted(config.kinds if method.upper() == "POST" else config.kinds - POST_ONLY_FAULTS)
            if not kinds or self._rng.random() >= config.rate:
                return None
            kind = self._rng.choice(kinds)
            perform_first = kind == "500" and self._rng.random() < config.create_on_500
            self.fired[kind] = self.fired.get(kind, 0) + 1
            return FaultDecision(kind=kind, perform_first=perform_first)
