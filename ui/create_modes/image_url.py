"""Create from an image URL, checked the way Legnext will fetch it."""

from __future__ import annotations

import streamlit as st

from legnext_core.access import Person
from legnext_core.errors import InvalidInputError
from legnext_core.media import check_image_url
from legnext_core.models import JobKind, validate_http_url
from legnext_core.studio import Studio
from ui import feedback, start_image
from ui.create_modes.common import request_area
from ui.create_modes.keys import IMAGE_CHECK_KEY, result_key


def image_url_mode(current: Studio, who: Person) -> None:
    result = st.session_state.get(result_key("image_url"))
    url = st.text_input(
        "Image URL",
        key="create:image_url:url",
        placeholder="https://example.com/picture.png",
        help="A picture Legnext can download (http or https). It becomes the first frame's reference.",
    ).strip()
    start_image.upload("create:image_url:url")
    has_field_error = result is not None and result.outcome == "invalid" and result.field == "image_url"
    feedback.field_error(result, "image_url")
    usable = False
    if url:
        try:
            validate_http_url(url, "image_url", "The image URL")
        except InvalidInputError as exc:
            if not has_field_error:  # the same message once, not twice
                st.error(exc.message, icon=":material/edit:")
        else:
            usable = _image_url_usable(current, url)
    request_area(
        current,
        who,
        "image_url",
        JobKind.IMAGE_URL_VIDEO,
        prompt_label="Prompt (optional)",
        placeholder="What should move, e.g. the leaves sway in the wind",
        prompt_help="Sent after the URL, as Legnext expects: “<image URL> <prompt>”.",
        label="Create video",
        shown=("prompt", "image_url", "callback"),
        ready=usable or not url,
        image_url=url or None,
    )


def _image_url_usable(current: Studio, url: str) -> bool:
    """Check the image URL once (as Legnext will fetch it) and say what is wrong beside the field.

    True when the image is fine, or when the check could not run and the person chose to send anyway.
    """
    state = st.session_state
    checked = state.get(IMAGE_CHECK_KEY)
    if checked is None or checked[0] != url:
        with st.spinner("Checking the image URL…"):
            checked = (url, check_image_url(url, allow_loopback=current.settings.is_sandbox))
        state[IMAGE_CHECK_KEY] = checked
    check = checked[1]
    if check.ok:
        st.image(url, width=320, caption="The image Legnext will start from")
        return True
    if not check.could_not_check:
        st.error(f"**This image URL cannot be used.** {check.problem}", icon=":material/broken_image:")
        return False
    st.warning(
        f"**The image URL could not be checked.** {check.problem} It may still work for Legnext.",
        icon=":material/help:",
    )
    return st.checkbox("Send it anyway", key=f"create:image_url:anyway:{url}")
