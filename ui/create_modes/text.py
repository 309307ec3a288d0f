"""Create from a text prompt."""

from __future__ import annotations

from legnext_core.access import Person
from legnext_core.models import JobKind, JobRequest
from legnext_core.studio import Studio
from ui.create_modes.common import options_area, prompt_area, submit_area


def text_mode(current: Studio, who: Person) -> None:
    prompt = prompt_area(
        "text",
        label="Prompt",
        placeholder="A paper boat drifting down a rainy street, cinematic, golden hour",
    )
    options = options_area("text")
    request = JobRequest(
        kind=JobKind.TEXT_VIDEO,
        prompt=prompt or None,
        **options.request_fields(),
    )
    submit_area(current, who, "text", request, label="Create video", shown=("prompt", "callback"))
