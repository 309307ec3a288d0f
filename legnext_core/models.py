"""What Legnext sends and what we ask of it: jobs, balance, and validated job requests.

Parsing is tolerant because Legnext's answers vary (see the project's API notes): ``task_type`` comes
with underscores from the live service and with hyphens in the OpenAPI file; unset timestamps are the
Go zero time or ``""``; ``error.code == 0`` means "no error"; ``output`` is null until a job completes;
fields may be missing or null, and unknown ones appear. None of that is fatal: unknown fields are kept
in ``extra``, the whole answer in ``raw``.

Validation happens before anything is sent and raises :class:`InvalidInputError` naming the field,
with a message a person understands.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, NamedTuple
from urllib.parse import urlsplit

from legnext_core import pricing
from legnext_core.errors import InvalidInputError

PROMPT_MAX_CHARS = 8192
#: Legnext numbers the four outputs of a job 0-3.
OUTPUT_INDEXES = range(4)
#: ``videoType``: 0 = 480p, 1 = 720p.
VIDEO_TYPES = {0: "480p", 1: "720p"}


def resolution_label(video_type: int | None) -> str | None:
    """ "480p" or "720p" for a ``videoType``; None when it is not known."""
    return None if video_type is None else VIDEO_TYPES.get(video_type)


MOTIONS = ("low", "high")
#: Seconds of video a generation makes, each extension adds, and how many extensions one chain takes.
VIDEO_SECONDS = 4
EXTENSION_SECONDS = 4
MAX_EXTENSIONS = 4
#: The longest a chain of extensions gets (20 s).
MAX_CHAIN_SECONDS = VIDEO_SECONDS + EXTENSION_SECONDS * MAX_EXTENSIONS
#: Midjourney's ``--bs``: how many videos one job makes (Legnext's default is four).
BATCH_SIZES = (1, 2, 4)
DEFAULT_BATCH_SIZE = 4
#: Legnext's speeds, chosen with ``--fast`` / ``--turbo`` in the prompt; turbo costs double.
SPEEDS = ("fast", "turbo")
DEFAULT_SPEED = "fast"
#: Extend "auto" keeps the original prompt (none is sent); "manual" sends a new one.
EXTEND_MODES = ("auto", "manual")


class JobStatus(StrEnum):
    PENDING = "pending"
    STAGED = "staged"
    PROCESSING = "processing"
    COMPLETED = "completed"
    FAILED = "failed"

    @property
    def is_terminal(self) -> bool:
        return self in (JobStatus.COMPLETED, JobStatus.FAILED)


class JobKind(StrEnum):
    """What the dashboard asks for; several kinds share one Legnext endpoint."""

    TEXT_VIDEO = "text_video"
    IMAGE_URL_VIDEO = "image_url_video"
    ANIMATE = "animate"
    EXTEND = "extend"
    UPSCALE = "upscale"
    IMAGE = "image"

    @property
    def task_type(self) -> str:
        """Legnext's ``task_type`` for jobs of this kind (underscored)."""
        return _KINDS[self].task_type

    @property
    def needs_parent(self) -> bool:
        return self in (JobKind.ANIMATE, JobKind.EXTEND, JobKind.UPSCALE)

    @property
    def makes_video(self) -> bool:
        return self is not JobKind.IMAGE

    @property
    def label(self) -> str:
        """What a person calls jobs of this kind: the one wording of filters, tables, trees and pickers."""
        return _KINDS[self].label


class _KindFacts(NamedTuple):
    task_type: str
    label: str


#: Each kind's Legnext ``task_type`` and its label, one row a kind.
_KINDS = {
    JobKind.TEXT_VIDEO: _KindFacts("video_diffusion", "Text to video"),
    JobKind.IMAGE_URL_VIDEO: _KindFacts("video_diffusion", "Image URL to video"),
    JobKind.ANIMATE: _KindFacts("video_diffusion", "Animated image"),
    JobKind.EXTEND: _KindFacts("extend_video", "Extension"),
    JobKind.UPSCALE: _KindFacts("video_upscale", "Upscale"),
    JobKind.IMAGE: _KindFacts("diffusion", "Image"),
}
#: The other way, for jobs made elsewhere: the first kind of each task type (video_diffusion is also
#: what animate and image-URL jobs report; a job looked up by id is taken for a text-to-video one).
_KIND_OF_TASK_TYPE = {facts.task_type: kind for kind, facts in reversed(_KINDS.items())}


def task_type_of(kind: str | None) -> str | None:
    """Legnext's ``task_type`` for a record's kind (a :class:`JobKind` value), None for an unknown kind."""
    try:
        return JobKind(kind or "").task_type
    except ValueError:
        return None


def kind_of_task_type(task_type: str | None) -> JobKind | None:
    """Our kind for a task type Legnext reports (underscored, as :class:`Job` normalises it)."""
    return _KIND_OF_TASK_TYPE.get(task_type or "")


# ---------------------------------------------------------------------------------------------------
# Parsing helpers


def parse_timestamp(value: Any) -> datetime | None:
    """An aware UTC datetime, or None for unset values (Go zero time, ``""``, null) and garbage."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        if value <= 0:
            return None
        try:
            return datetime.fromtimestamp(float(value), tz=UTC)
        except (OverflowError, OSError, ValueError):
            return None
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    # Go's zero time ("0001-01-01T00:00:00Z") is how Legnext says "not set".
    if parsed.year <= 1:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def _str_or_none(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value)
    return text or None


def _int_or_none(value: Any) -> int | None:
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    try:
        return int(float(value))
    except (TypeError, ValueError):
        return None


def _float_or_none(value: Any) -> float | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _require_object(data: Any, what: str) -> dict[str, Any]:
    """``data``, which must be a JSON object: an answer of any other shape is a ValueError naming ``what``."""
    if not isinstance(data, dict):
        raise ValueError(f"{what} must be a JSON object, got {type(data).__name__}")
    return data


def _str_list(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value] if value else []
    if not isinstance(value, list):
        return []
    return [item for item in value if isinstance(item, str) and item]


def _actions(value: Any) -> dict[str, list[int]]:
    actions: dict[str, list[int]] = {}
    for name, indexes in _dict(value).items():
        if isinstance(indexes, list):
            actions[str(name)] = [i for i in indexes if isinstance(i, int) and not isinstance(i, bool)]
    return actions


_PERCENT = re.compile(r"(\d{1,3}(?:\.\d+)?)\s*%")


def _clamp_progress(value: float) -> int:
    return max(0, min(100, round(value)))


def progress_from_logs(logs: list[str]) -> int | None:
    """The latest percentage the logs report ("Processing 45%", "progress: 45%"), or None."""
    for line in reversed(logs):
        match = _PERCENT.search(line)
        if match:
            return _clamp_progress(float(match.group(1)))
    return None


# ---------------------------------------------------------------------------------------------------
# Jobs


@dataclass(frozen=True)
class JobError:
    """Why a job failed. Legnext sends ``code`` 0 for "no error"; then a Job has ``error=None``."""

    code: int
    #: User-facing text.
    message: str
    #: The underlying cause, as Legnext reports it.
    raw_message: str = ""
    detail: Any = None

    @classmethod
    def from_api(cls, data: Any) -> JobError | None:
        data = _dict(data)
        code = _int_or_none(data.get("code")) or 0
        message = _str_or_none(data.get("message")) or ""
        if code == 0 and not message:
            return None
        return cls(
            code=code,
            message=message,
            raw_message=_str_or_none(data.get("raw_message")) or "",
            detail=data.get("detail"),
        )


_JOB_KEYS = frozenset(
    {
        "job_id",
        "model",
        "task_type",
        "status",
        "config",
        "input",
        "output",
        "meta",
        "detail",
        "logs",
        "error",
        "progress",
        "callback",
        "created_at",
        "started_at",
        "ended_at",
    }
)
_OUTPUT_KEYS = frozenset({"video_urls", "video_url", "image_url", "image_urls", "seed", "available_actions"})


@dataclass(frozen=True)
class Job:
    """One Legnext job as an answer describes it (any task type, any status)."""

    job_id: str
    #: Underscored (``video_diffusion``, ``extend_video``, ``video_upscale``, ``diffusion``, ...).
    task_type: str
    status: JobStatus
    video_urls: list[str] = field(default_factory=list)
    #: Image jobs: the grid of the four images.
    image_url: str | None = None
    image_urls: list[str] = field(default_factory=list)
    seed: str | None = None
    #: e.g. ``{"extend": [0, 1, 2, 3], "upscale": [0, 1, 2, 3]}``; empty until completed.
    available_actions: dict[str, list[int]] = field(default_factory=dict)
    #: Points reserved at submission, and consumed on completion.
    usage_frozen: int | None = None
    usage_consumed: int | None = None
    error: JobError | None = None
    created_at: datetime | None = None
    started_at: datetime | None = None
    ended_at: datetime | None = None
    logs: list[str] = field(default_factory=list)
    #: 0-100 when Legnext reports it (a ``progress`` field or a percentage in the logs); 100 once completed.
    progress: int | None = None
    #: The callback URL the job will notify, when it has one.
    callback: str | None = None
    model: str | None = None
    #: Fields this client does not know, kept as received (unknown ``output`` keys under ``"output"``).
    extra: dict[str, Any] = field(default_factory=dict)
    #: The answer as received.
    raw: dict[str, Any] = field(default_factory=dict, repr=False)

    @classmethod
    def from_api(cls, data: dict[str, Any]) -> Job:
        """Parse a job object (a GET answer, a POST answer, or a callback's job)."""
        _require_object(data, "a Legnext job")
        output = _dict(data.get("output"))
        meta = _dict(data.get("meta"))
        usage = _dict(meta.get("usage"))
        extra = {k: v for k, v in data.items() if k not in _JOB_KEYS}
        unknown_output = {k: v for k, v in output.items() if k not in _OUTPUT_KEYS}
        if unknown_output:
            extra["output"] = unknown_output

        status_text = str(data.get("status") or "").strip().lower()
        if not status_text:
            status = JobStatus.PENDING
        else:
            try:
                status = JobStatus(status_text)
            except ValueError:
                # A status this client does not know: keep tracking the job (non-terminal) and keep
                # what Legnext said, rather than failing the whole poll.
                status = JobStatus.PROCESSING
                extra["unknown_status"] = data.get("status")

        raw_logs = data.get("logs")
        logs = [str(line) for line in raw_logs if line is not None] if isinstance(raw_logs, list) else []
        progress_field = _float_or_none(data.get("progress"))
        if progress_field is not None:
            progress: int | None = _clamp_progress(progress_field)
        else:
            progress = progress_from_logs(logs)
        if status is JobStatus.COMPLETED:
            progress = 100

        video_urls = _str_list(output.get("video_urls"))
        if not video_urls:
            video_urls = _str_list(output.get("video_url"))
        webhook = _dict(_dict(data.get("config")).get("webhook_config"))
        callback = _str_or_none(webhook.get("endpoint")) or _str_or_none(data.get("callback"))

        return cls(
            job_id=_str_or_none(data.get("job_id")) or "",
            task_type=(_str_or_none(data.get("task_type")) or "").strip().lower().replace("-", "_"),
            status=status,
            video_urls=video_urls,
            image_url=_str_or_none(output.get("image_url")),
            image_urls=_str_list(output.get("image_urls")),
            seed=_str_or_none(output.get("seed")),
            available_actions=_actions(output.get("available_actions")),
            usage_frozen=_int_or_none(usage.get("frozen")),
            usage_consumed=_int_or_none(usage.get("consume", usage.get("consumed"))),
            error=JobError.from_api(data.get("error")),
            created_at=parse_timestamp(meta.get("created_at", data.get("created_at"))),
            started_at=parse_timestamp(meta.get("started_at", data.get("started_at"))),
            ended_at=parse_timestamp(meta.get("ended_at", data.get("ended_at"))),
            logs=logs,
            progress=progress,
            callback=callback,
            model=_str_or_none(data.get("model")),
            extra=extra,
            raw=data,
        )

    @property
    def output_urls(self) -> list[str]:
        """The result media of the job: its videos, or its four images."""
        return list(self.video_urls) or list(self.image_urls)


def _envelope_content(data: dict[str, Any]) -> dict[str, Any]:
    """The object inside a ``{"code": .., "data": {...}}`` envelope, or ``data`` itself when it is bare."""
    inner = data.get("data")
    return inner if isinstance(inner, dict) else data


@dataclass(frozen=True)
class Balance:
    """The account balance (``GET /account/balance``)."""

    account_id: str | None
    balance_usd: float | None
    available_credits: int | None
    available_points: int | None
    #: USD below which Legnext flags the balance as low.
    alert_threshold: float | None
    low_balance_alert: bool
    updated_at: datetime | None
    extra: dict[str, Any] = field(default_factory=dict)
    raw: dict[str, Any] = field(default_factory=dict, repr=False)

    @classmethod
    def from_api(cls, data: dict[str, Any]) -> Balance:
        """Parse the balance, wrapped (``{"code": 200, "data": {...}, "message": "success"}``) or bare."""
        inner = _envelope_content(_require_object(data, "a Legnext balance"))
        known = {
            "account_id",
            "balance_usd",
            "available_credits",
            "available_points",
            "alert_threshold",
            "low_balance_alert",
            "updated_at",
        }
        account = inner.get("account_id")
        return cls(
            account_id=None if account is None else str(account),
            balance_usd=_float_or_none(inner.get("balance_usd")),
            available_credits=_int_or_none(inner.get("available_credits")),
            available_points=_int_or_none(inner.get("available_points")),
            alert_threshold=_float_or_none(inner.get("alert_threshold")),
            low_balance_alert=bool(inner.get("low_balance_alert")),
            updated_at=parse_timestamp(inner.get("updated_at")),
            extra={k: v for k, v in inner.items() if k not in known},
            raw=data,
        )


@dataclass(frozen=True)
class ActiveTask:
    """One running job as ``GET /account/active_tasks`` lists it (no outputs, no callback)."""

    job_id: str
    #: Underscored, as :attr:`Job.task_type`.
    task_type: str
    status: JobStatus
    created_at: datetime | None
    #: 0-100 as Legnext reports it, or None when the entry has none.
    progress: int | None
    #: Seconds Legnext expects the job still needs, when it says.
    estimated_time: int | None

    @classmethod
    def from_api(cls, data: Any) -> ActiveTask | None:
        """Parse one entry; None for an entry without a job id (it cannot be followed)."""
        data = _dict(data)
        job_id = _str_or_none(data.get("job_id"))
        if not job_id:
            return None
        status_text = str(data.get("status") or "").strip().lower()
        try:
            status = JobStatus(status_text) if status_text else JobStatus.PENDING
        except ValueError:
            status = JobStatus.PROCESSING  # listed as active: it is not finished
        progress = _float_or_none(data.get("progress"))
        return cls(
            job_id=job_id,
            task_type=(_str_or_none(data.get("task_type")) or "").strip().lower().replace("-", "_"),
            status=status,
            created_at=parse_timestamp(data.get("created_at")),
            progress=None if progress is None else _clamp_progress(progress),
            estimated_time=_int_or_none(data.get("estimated_time")),
        )


@dataclass(frozen=True)
class ActiveTasks:
    """``GET /account/active_tasks``: every running job of the account, read in one request."""

    tasks: tuple[ActiveTask, ...]
    total_active: int | None = None
    concurrent_limit: int | None = None
    account_id: str | None = None
    updated_at: datetime | None = None

    @classmethod
    def from_api(cls, data: dict[str, Any]) -> ActiveTasks:
        """Parse the answer, bare (as openapi-complete.yaml declares it) or in a ``data`` envelope."""
        inner = _envelope_content(_require_object(data, "active tasks"))
        raw_tasks = inner.get("tasks")
        entries = raw_tasks if isinstance(raw_tasks, list) else []
        tasks = tuple(task for task in map(ActiveTask.from_api, entries) if task is not None)
        account = inner.get("account_id")
        return cls(
            tasks=tasks,
            total_active=_int_or_none(inner.get("total_active")),
            concurrent_limit=_int_or_none(inner.get("concurrent_limit")),
            account_id=None if account is None else str(account),
            updated_at=parse_timestamp(inner.get("updated_at")),
        )

    def by_job_id(self) -> dict[str, ActiveTask]:
        return {task.job_id: task for task in self.tasks}


# ---------------------------------------------------------------------------------------------------
# Validation

_UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")


def _looks_like_url(token: str) -> bool:
    return "://" in token or token.lower().startswith("www.")


def validate_http_url(value: Any, field_name: str, what: str) -> str:
    """``value`` if it is an http(s) URL with a host and no spaces; else InvalidInputError."""
    if not isinstance(value, str) or not value.strip():
        raise InvalidInputError(field_name, f"{what} is empty: give an http:// or https:// URL.")
    # The scheme first: text that is no URL at all ("a red fox") is told what a URL starts with, not that
    # it has spaces.
    if not value.lower().startswith(("http://", "https://")):
        raise InvalidInputError(field_name, f"{what} must start with http:// or https://.")
    if any(ch.isspace() for ch in value):
        raise InvalidInputError(field_name, f"{what} must not contain spaces.")
    try:
        parts = urlsplit(value)
        host = parts.hostname
    except ValueError:
        raise InvalidInputError(field_name, f"{what} is not a valid URL.") from None
    if not host:
        raise InvalidInputError(field_name, f"{what} has no host name.")
    return value


def validate_job_id(value: Any, field_name: str = "job_id") -> str:
    """A Legnext job id (a UUID). Also keeps anything but an id out of the request path."""
    if not isinstance(value, str) or not _UUID.match(value.strip()):
        raise InvalidInputError(
            field_name,
            "This is not a Legnext job id. A job id looks like 3fa85f64-5717-4562-b3fc-2c963f66afa6.",
        )
    return value.strip()


def validate_index(value: Any, field_name: str = "index") -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value not in OUTPUT_INDEXES:
        raise InvalidInputError(field_name, "Choose one of the four results: a number from 0 to 3.")
    return value


def validate_video_type(value: Any, field_name: str = "video_type") -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value not in VIDEO_TYPES:
        raise InvalidInputError(field_name, "Video quality must be 0 (480p) or 1 (720p).")
    return value


def validate_callback(value: Any, field_name: str = "callback") -> str | None:
    if value is None:
        return None
    return validate_http_url(value, field_name, "The callback URL")


#: Characters no text a person types may hold: C0 controls but tab, newline and carriage return, and
#: DEL. They come from a careless paste, are invisible on the page, and a NUL cannot be kept in the
#: PostgreSQL job log at all.
_CONTROL_CHARACTER = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def control_character_problem(text: str, what: str) -> str | None:
    """A sentence saying ``what`` holds an invisible control character (and which), or None."""
    found = _CONTROL_CHARACTER.search(text)
    if found is None:
        return None
    return (
        f"{what} holds an invisible control character (U+{ord(found.group()):04X}) at position "
        f"{found.start() + 1}, likely from a paste: delete it and type that part again."
    )


def validate_prompt(prompt: Any, field_name: str = "prompt") -> str:
    """A prompt as it goes on the wire: 1-8192 characters, not blank; an image URL only as the first token.

    URLs after ``--end`` (Midjourney's end frame) are allowed; any other URL later in the text would be
    read by Legnext as words, so it is refused.
    """
    if not isinstance(prompt, str) or not prompt.strip():
        raise InvalidInputError(field_name, "The prompt is empty: describe what you want to see.")
    if len(prompt) > PROMPT_MAX_CHARS:
        raise InvalidInputError(
            field_name,
            f"The prompt is {len(prompt)} characters long; Legnext accepts at most {PROMPT_MAX_CHARS}.",
        )
    control = control_character_problem(prompt, "The prompt")
    if control is not None:
        raise InvalidInputError(field_name, control)
    tokens = prompt.split()
    for position, token in enumerate(tokens):
        if not _looks_like_url(token):
            continue
        if position == 0:
            validate_http_url(token, field_name, "The image URL at the start of the prompt")
        elif tokens[position - 1] == "--end":
            validate_http_url(token, field_name, "The --end image URL")
        else:
            raise InvalidInputError(
                field_name, "An image URL must come first in the prompt, before the text."
            )
    return prompt


@dataclass(frozen=True)
class JobRequest:
    """One job the user asks for, before it is sent. Build it from a form, then ``validate()``."""

    kind: JobKind
    #: The user's text (without the image URL and flags, which ``wire_prompt`` adds).
    prompt: str | None = None
    #: ``image_url_video`` only: the picture to start from.
    image_url: str | None = None
    #: ``animate``: the image job; ``extend`` and ``upscale``: the video job.
    parent_job_id: str | None = None
    #: Which of the parent's four outputs (0-3).
    index: int | None = None
    #: 0 = 480p, 1 = 720p (not sent for extend and upscale).
    video_type: int = 0
    #: ``--motion low|high`` (videos).
    motion: str | None = None
    #: ``--raw``.
    raw: bool = False
    callback: str | None = None
    #: ``--end <image url>``: the picture the video ends on (videos and extensions).
    end_url: str | None = None
    #: ``--loop``: the video ends on its start frame (Midjourney's option, passed through).
    loop: bool = False
    #: ``--bs 1|2|4``: how many videos the job makes (Midjourney's option, passed through); 4 is not sent.
    batch_size: int = DEFAULT_BATCH_SIZE
    #: ``--turbo`` (double price) or Legnext's default, fast (not sent).
    speed: str = DEFAULT_SPEED
    #: Extensions only: "auto" keeps the original prompt (nothing sent), "manual" sends ``prompt``.
    #: None: the older form, where an empty prompt simply means auto.
    extend_mode: str | None = None

    @property
    def has_options(self) -> bool:
        """Whether any Midjourney option (a prompt flag) is set."""
        return bool(
            self.motion
            or self.raw
            or self.end_url
            or self.loop
            or self.batch_size != DEFAULT_BATCH_SIZE
            or self.speed != DEFAULT_SPEED
        )

    def option_flags(self) -> list[str]:
        """The Midjourney options as prompt flags, in a fixed order; defaults are not sent."""
        flags: list[str] = []
        if self.motion:
            flags.append(f"--motion {self.motion}")
        if self.raw:
            flags.append("--raw")
        if self.end_url:
            flags.append(f"--end {self.end_url.strip()}")
        if self.loop:
            flags.append("--loop")
        if self.batch_size != DEFAULT_BATCH_SIZE:
            flags.append(f"--bs {self.batch_size}")
        if self.speed != DEFAULT_SPEED:
            flags.append(f"--{self.speed}")
        return flags

    def wire_prompt(self) -> str | None:
        """Legnext's prompt: image URL first, then the text, then the option flags; None if empty."""
        parts: list[str] = []
        if self.image_url:
            parts.append(self.image_url.strip())
        if self.prompt and self.prompt.strip():
            parts.append(self.prompt.strip())
        parts.extend(self.option_flags())
        return " ".join(parts) or None

    def validate(self) -> JobRequest:
        """Raise InvalidInputError (naming the field) unless this can be sent; returns self."""
        kind = self.kind
        if not isinstance(kind, JobKind):
            raise InvalidInputError("kind", "Unknown kind of job.")
        self._validate_options()
        if kind is JobKind.UPSCALE and (self.prompt or self.has_options):
            raise InvalidInputError(
                "prompt",
                "An upscale takes no prompt, so no Midjourney option (motion, raw, end frame, loop, "
                "batch size, speed) can travel with it.",
            )
        if kind is JobKind.EXTEND:
            self._validate_extend_mode()
        if kind is JobKind.IMAGE_URL_VIDEO:
            validate_http_url(self.image_url, "image_url", "The image URL")
        elif self.image_url:
            raise InvalidInputError("image_url", "Only an image-to-video job takes an image URL.")
        if kind in (JobKind.TEXT_VIDEO, JobKind.IMAGE) and not (self.prompt and self.prompt.strip()):
            raise InvalidInputError("prompt", "The prompt is empty: describe what you want to see.")
        if kind.needs_parent:
            validate_job_id(self.parent_job_id, "parent_job_id")
            validate_index(self.index, "index")
        if kind.makes_video and kind not in (JobKind.EXTEND, JobKind.UPSCALE):
            validate_video_type(self.video_type)
        wire = self.wire_prompt()
        if wire is not None or kind in (JobKind.TEXT_VIDEO, JobKind.IMAGE_URL_VIDEO, JobKind.IMAGE):
            validate_prompt(wire, "prompt")
        validate_callback(self.callback)
        return self

    def _validate_options(self) -> None:
        """Each Midjourney option on its own, then the ones that do not go together."""
        if self.motion is not None and self.motion not in MOTIONS:
            raise InvalidInputError("motion", "Motion must be low or high.")
        if not isinstance(self.raw, bool):
            raise InvalidInputError("raw", "Raw must be on or off.")
        if not isinstance(self.loop, bool):
            raise InvalidInputError("loop", "Loop must be on or off.")
        if isinstance(self.batch_size, bool) or self.batch_size not in BATCH_SIZES:
            raise InvalidInputError("batch_size", "Batch size must be 1, 2 or 4 videos.")
        if self.speed not in SPEEDS:
            raise InvalidInputError("speed", "Speed must be fast or turbo.")
        if self.end_url is not None:
            validate_http_url(self.end_url, "end_url", "The end frame URL")
        if self.kind is JobKind.IMAGE:
            for name, is_set in (
                ("motion", self.motion is not None),
                ("end_url", bool(self.end_url)),
                ("loop", self.loop),
                ("batch_size", self.batch_size != DEFAULT_BATCH_SIZE),
            ):
                if is_set:
                    raise InvalidInputError(name, "This option applies to videos only.")
        if self.loop and self.end_url:
            raise InvalidInputError(
                "loop", "A loop ends on its start frame, so it cannot also have an end frame: choose one."
            )

    def _validate_extend_mode(self) -> None:
        mode = self.extend_mode
        if mode is None:
            return
        if mode not in EXTEND_MODES:
            raise InvalidInputError("extend_mode", "Extend is either auto or manual.")
        has_prompt = bool(self.prompt and self.prompt.strip())
        if mode == "auto" and (has_prompt or self.has_options):
            raise InvalidInputError(
                "extend_mode",
                "Extend auto keeps the video's own prompt and settings and sends none; "
                "choose manual to write a prompt or change an option.",
            )
        if mode == "manual" and not has_prompt:
            raise InvalidInputError(
                "prompt", "A manual extension needs a prompt: describe what happens next, or choose Auto."
            )


def estimate_points(request: JobRequest, parent_video_type: int | None = None) -> int:
    """Points the job will reserve (1 point = US$0.001); see :mod:`legnext_core.pricing`."""
    return pricing.estimate_points(request, parent_video_type)


def points_are_estimated(request: JobRequest, parent_video_type: int | None = None) -> bool:
    """True when :func:`estimate_points` rests on an inference rather than a published price."""
    return pricing.estimate_note(request, parent_video_type) is not None
