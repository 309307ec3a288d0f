"""Create from a text prompt."""

from __future__ import annotations

from legnext_core.access import Person
from legnext_core.models import JobKind
from legnext_core.studio import Studio
from ui.create_modes.common import request_area


def text_mode(current: Studio, who: Person) -> None:
    request_area(
        current,
        who,
        "text",
        JobKind.TEXT_VIDEO,
        prompt_label="Prompt",
        placeholder="A paper boat drifting down a rainy street, cinematic, golden hour",
        label="Create video",
        shown=("prompt", "callback"),
    )
