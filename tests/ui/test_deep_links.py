"""AppTest: a link to Extend or Upscale with ``?job=...&variant=...`` opens the page on that video and
variant, not on the newest one. (Each page's own refusals of bad links are in its own tests.)"""

from __future__ import annotations

import pytest

from tests.ui.helpers import finished_video


@pytest.mark.parametrize(("page", "variant"), [("extend", 2), ("upscale", 1)])
def test_deep_link_preselects_job_and_variant(app_test, studio, sandbox, page: str, variant: int):
    first = app_test(page)
    older = finished_video(studio(), sandbox)
    finished_video(studio(), sandbox)
    del first
    at = app_test(page, query={"job": older, "variant": str(variant)})
    assert not at.exception
    assert at.selectbox(key=f"{page}:job").value == older
    assert at.segmented_control(key=f"{page}:variant:{older}").value == variant
