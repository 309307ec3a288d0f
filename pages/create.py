"""Create: a new video from a text prompt, from an image URL, from an image job, or many at once."""

from __future__ import annotations

import streamlit as st

from legnext_core.errors import InvalidInputError, LegnextError
from legnext_core.media import check_image_url
from legnext_core.models import JobKind, JobRequest, estimate_points, validate_http_url
from legnext_core.pricing import estimate_note
from legnext_core.submit import free_slots, request_from_record, submit_job
from ui import create_feed, feedback, forms, pickers, video_options
from ui.access import require_spending
from ui.context import studio
from ui.format import code_span

MODES = {
    "text": ":material/notes: Text to video",
    "image_url": ":material/image: Image URL to video",
    "animate": ":material/animation: Animate an image job",
    "batch": ":material/format_list_numbered: Batch",
}
MODE_KEY = "create:mode"
KIND_MODES = {
    JobKind.TEXT_VIDEO.value: "text",
    JobKind.IMAGE_URL_VIDEO.value: "image_url",
    JobKind.ANIMATE.value: "animate",
}
#: Animate mode keeps the image job id here; a chosen or freshly made job is handed over via NEXT_IMAGE_JOB,
#: because a widget's value cannot be set once the widget is drawn in a run.
IMAGE_JOB_KEY = "create:animate:job_id"
NEXT_IMAGE_JOB = "create:animate:next_job_id"
#: The last image URL checked and what the check found: (url, ImageCheck).
IMAGE_CHECK_KEY = "create:image_url:check"
SANDBOX_IMAGE = "create:sandbox_image"
#: Set once a batch is sent: the next run empties the batch form (a drawn widget cannot be changed).
BATCH_SENT = "create:batch:sent"
#: The result rows of every batch sent in this session, newest first.
BATCH_RESULTS = "create:batch:results"


def result_key(mode: str) -> str:
    return f"create:{mode}:result"


def _fill_from_request(mode: str, request: JobRequest) -> None:
    """Put a past request's settings into the form of ``mode`` ("run again with the same settings")."""
    state = st.session_state
    prefix = f"create:{mode}"
    state[f"{prefix}:prompt"] = request.prompt or ""
    state[f"{prefix}:resolution"] = "720p" if request.video_type == 1 else "480p"
    state[f"{prefix}:motion"] = request.motion.capitalize() if request.motion else "Default"
    state[f"{prefix}:raw"] = bool(request.raw)
    own_webhook = current.settings.webhook_url
    state[f"{prefix}:callback"] = "" if request.callback in (None, own_webhook) else request.callback
    video_options.fill(
        prefix, batch_size=request.batch_size, speed=request.speed, loop=request.loop, end_url=request.end_url
    )
    if mode == "image_url":
        state[f"{prefix}:url"] = request.image_url or ""


def _apply_deep_link() -> int | None:
    """Apply ``?mode=animate&image_job=..&image=..`` or ``?rerun=<local_id>`` once; the linked image index."""
    params = st.query_params
    link = tuple(sorted((name, params.get(name)) for name in ("mode", "image_job", "image", "rerun")))
    state = st.session_state
    first_time = state.get("create:applied_link") != link
    state["create:applied_link"] = link
    linked_image = pickers.parse_index(params.get("image"))
    if not first_time:
        return linked_image
    if params.get("mode") in MODES:
        state[MODE_KEY] = params.get("mode")
    if params.get("image_job"):
        state[MODE_KEY] = "animate"
        state[NEXT_IMAGE_JOB] = params.get("image_job")
    rerun_id = params.get("rerun")
    if rerun_id:
        record = current.store.get(rerun_id) or current.store.by_job_id(rerun_id)
        if record is None:
            st.warning(
                f"There is no job {code_span(rerun_id)} in the log to run again.", icon=":material/warning:"
            )
            return linked_image
        request = request_from_record(record)
        if request.kind in (JobKind.EXTEND, JobKind.UPSCALE):
            target = "pages/extend.py" if request.kind is JobKind.EXTEND else "pages/upscale.py"
            form = "extend" if request.kind is JobKind.EXTEND else "upscale"
            own_webhook = current.settings.webhook_url
            fields = {"callback": "" if request.callback in (None, own_webhook) else request.callback}
            if request.kind is JobKind.EXTEND:
                # An extension sent with a prompt was a manual one; without, Legnext kept the video's own.
                fields["mode"] = "manual" if request.prompt else "auto"
                fields["prompt"] = request.prompt or ""
            forms.hand_over(form, **fields)
            st.switch_page(target, query_params={"job": request.parent_job_id, "variant": request.index or 0})
        mode = KIND_MODES.get(request.kind.value)
        if mode is None:  # an image job: its prompt goes to the sandbox image form
            state[MODE_KEY] = "animate"
            state[f"{SANDBOX_IMAGE}:prompt"] = request.prompt or ""
            return linked_image
        state[MODE_KEY] = mode
        _fill_from_request(mode, request)
        if mode == "animate":
            state[NEXT_IMAGE_JOB] = request.parent_job_id
            return request.index
        st.toast("The form is filled with that job's settings.", icon=":material/replay:")
    return linked_image


def _send(form: str, request: JobRequest) -> None:
    """Send the pending submission of ``form`` once, keep its result, and redraw the page."""
    with st.spinner("Submitting to Legnext…"):
        if forms.take_pending(form):
            st.session_state[result_key(form)] = submit_job(current, request, person=who)
    st.rerun()


def _submit_area(
    mode: str, request: JobRequest, *, label: str, shown: tuple[str, ...], ready: bool = True
) -> None:
    forms.cost_line(estimate_points(request), note=estimate_note(request))
    pending = forms.submit_button(mode, label, disabled=not ready, icon=":material/movie:")
    feedback.show_result(
        st.session_state.get(result_key(mode)),
        current,
        result_key=result_key(mode),
        shown_fields=shown + video_options.FIELDS,
    )
    if pending:
        _send(mode, request)


def _prompt(mode: str, *, label: str, placeholder: str, help: str | None = None) -> str:
    value = st.text_area(label, key=f"create:{mode}:prompt", placeholder=placeholder, help=help, height=110)
    feedback.field_error(st.session_state.get(result_key(mode)), "prompt")
    return value.strip()


def _options(mode: str) -> forms.VideoOptions:
    options = forms.video_options(f"create:{mode}")
    result = st.session_state.get(result_key(mode))
    feedback.field_error(result, "callback", "motion", "video_type", "raw", *video_options.FIELDS)
    return options


def text_mode() -> None:
    prompt = _prompt(
        "text",
        label="Prompt",
        placeholder="A paper boat drifting down a rainy street, cinematic, golden hour",
    )
    options = _options("text")
    request = JobRequest(
        kind=JobKind.TEXT_VIDEO,
        prompt=prompt or None,
        **options.request_fields(),
    )
    _submit_area("text", request, label="Create video", shown=("prompt", "callback"))


def image_url_mode() -> None:
    result = st.session_state.get(result_key("image_url"))
    url = st.text_input(
        "Image URL",
        key="create:image_url:url",
        placeholder="https://example.com/picture.png",
        help="A picture Legnext can download (http or https). It becomes the first frame's reference.",
    ).strip()
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
            usable = _image_url_usable(url)
    prompt = _prompt(
        "image_url",
        label="Prompt (optional)",
        placeholder="What should move, e.g. the leaves sway in the wind",
        help="Sent after the URL, as Legnext expects: “<image URL> <prompt>”.",
    )
    options = _options("image_url")
    request = JobRequest(
        kind=JobKind.IMAGE_URL_VIDEO,
        prompt=prompt or None,
        image_url=url or None,
        **options.request_fields(),
    )
    _submit_area(
        "image_url", request, label="Create video", shown=("prompt", "image_url", "callback"),
        ready=usable or not url,
    )


def _image_url_usable(url: str) -> bool:
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


@st.fragment(run_every=1.5)
def _image_job_progress(job_id: str) -> None:
    """Progress of an image job that is not finished yet (reads the log only; the tracker polls)."""
    record = current.store.by_job_id(job_id)
    if record is None:
        return
    status = record.status
    if status == "completed" or status in ("failed", "lost", "rejected"):
        st.rerun(scope="app")
    progress = record.progress
    st.progress(
        (progress or 0) / 100,
        text=f":material/hourglass_top: Image job {code_span(job_id)} is {status}"
        + (f" ({progress}%)" if progress is not None else "")
        + ". Its four images appear here when it is done.",
    )


def _sandbox_image_maker(*, expanded: bool) -> None:
    """Sandbox only: make an image job to animate, so this mode can be shown without a real one."""
    with st.expander(
        "No image job at hand? Make one in the sandbox", icon=":material/science:", expanded=expanded
    ):
        st.caption("The sandbox makes an image job (four images) in a few seconds, free of charge.")
        prompt = st.text_input(
            "Image prompt", key=f"{SANDBOX_IMAGE}:prompt", placeholder="A lighthouse on a cliff at dusk"
        ).strip()
        result = st.session_state.get(result_key(SANDBOX_IMAGE))
        feedback.field_error(result, "prompt")
        pending = forms.submit_button(
            SANDBOX_IMAGE, "Make a sandbox image job", icon=":material/add_photo_alternate:"
        )
        if result is not None and result.outcome != "accepted":
            feedback.show_result(
                result, current, result_key=result_key(SANDBOX_IMAGE), shown_fields=("prompt",)
            )
    if pending:
        with st.spinner("Submitting to the sandbox…"):
            if forms.take_pending(SANDBOX_IMAGE):
                image = JobRequest(kind=JobKind.IMAGE, prompt=prompt or None)
                made = submit_job(current, image, person=who)
                st.session_state[result_key(SANDBOX_IMAGE)] = made
                if made.job_id:
                    st.session_state[NEXT_IMAGE_JOB] = made.job_id
        st.rerun()


def _choose_recent_image(key: str) -> None:
    st.session_state[NEXT_IMAGE_JOB] = st.session_state.get(key)


def animate_mode(linked_image: int | None) -> None:
    state = st.session_state
    if NEXT_IMAGE_JOB in state:
        state[IMAGE_JOB_KEY] = state.pop(NEXT_IMAGE_JOB) or ""
    result = state.get(result_key("animate"))
    left, right = st.columns(2, vertical_alignment="bottom")
    job_id = left.text_input(
        "Image job id",
        key=IMAGE_JOB_KEY,
        placeholder="3fa85f64-5717-4562-b3fc-2c963f66afa6",
        help="A completed Midjourney image job (made here or elsewhere with the same key).",
    ).strip()
    recent = pickers.completed_jobs(current, [JobKind.IMAGE])
    if recent:
        by_id = {record.job_id: record for record in recent}
        right.selectbox(
            "…or pick a finished image job",
            list(by_id),
            index=None,
            key="create:animate:recent",
            format_func=lambda jid: pickers.job_label(by_id[jid]),
            placeholder="Recent image jobs",
            on_change=_choose_recent_image,
            args=("create:animate:recent",),
        )
    feedback.field_error(result, "parent_job_id")
    if current.settings.is_sandbox:
        _sandbox_image_maker(expanded=not job_id)
    record = None
    if job_id:
        try:
            record = pickers.fetch_job(current, job_id, field="parent_job_id")
        except InvalidInputError as exc:
            st.error(exc.message, icon=":material/edit:")
        except LegnextError as exc:
            feedback.show_error(exc, current)
    index = None
    if record is not None:
        if record.kind != JobKind.IMAGE.value:
            kind = pickers.KIND_LABELS.get(record.kind or "", "job").lower()
            st.error(
                f"Job {code_span(job_id)} is a {kind} job, not an image job. Animate needs the four "
                "images of an image job; to lengthen a video, use Extend.",
                icon=":material/block:",
            )
            record = None
        elif record.status == "completed":
            index = pickers.pick_variant(record, key="create:animate", preselect=linked_image)
            feedback.field_error(result, "index")
        elif record.status in ("failed", "lost", "rejected"):
            st.error(
                f"Image job {code_span(job_id)} {record.status}: "
                + (code_span(record.error_message) if record.error_message else "it has no images")
                + ". Choose another image job.",
                icon=":material/error:",
            )
            record = None
        else:
            with st.container():  # a live part in a holder of its own (ui/live.py)
                _image_job_progress(job_id)
            record = None
    prompt = _prompt(
        "animate",
        label="Prompt (optional)",
        placeholder="How it should move, e.g. slow zoom, hair in the wind",
    )
    options = _options("animate")
    request = JobRequest(
        kind=JobKind.ANIMATE,
        prompt=prompt or None,
        parent_job_id=job_id or None,
        index=index,
        **options.request_fields(),
    )
    _submit_area(
        "animate",
        request,
        label="Animate image",
        shown=("prompt", "parent_job_id", "index", "callback"),
        ready=record is not None and index is not None,
    )


def batch_mode() -> None:
    state = st.session_state
    if state.pop(BATCH_SENT, False):
        # The sent prompts now live in the results table; an emptied form cannot send them twice.
        state["create:batch:lines"] = ""
        state["create:batch:upload_round"] = state.get("create:batch:upload_round", 0) + 1
    source = st.segmented_control(
        "Prompts from",
        ["One per line", "CSV file"],
        default="One per line",
        required=True,
        key="create:batch:source",
    )
    if source == "CSV file":
        upload = st.file_uploader(
            "CSV with a `prompt` column (optional `resolution`: 480p or 720p)",
            type=["csv"],
            key=f"create:batch:csv:{state.get('create:batch:upload_round', 0)}",
        )
        lines, problem = forms.lines_from_csv(upload)
        if problem:
            st.error(problem, icon=":material/edit:")
    else:
        text = st.text_area(
            "Prompts, one per line",
            key="create:batch:lines",
            height=180,
            placeholder="A fox running through snow\nWaves breaking on black sand\nA neon city in the rain",
        )
        lines = forms.lines_from_text(text)
    options = _options("batch")
    prepared = forms.prepare_batch(lines, options)
    valid = [line for line in prepared if line.error is None]
    invalid = [line for line in prepared if line.error is not None]
    if invalid:
        st.warning(
            "**Not sent (fix these lines):**  \n"
            + "  \n".join(f"Line {line.number}: {line.error}" for line in invalid),
            icon=":material/edit:",
        )
    if valid:
        forms.cost_line(
            sum(estimate_points(line.request) for line in valid), note=estimate_note(valid[0].request)
        )
        slots = free_slots(current)
        if len(valid) > slots:
            later = len(valid) - slots
            now = (
                f"all {slots} free slots are used at once and the other {later}"
                if slots
                else f"all slots are busy now, so the {later}"
            )
            st.info(
                f"Legnext runs at most 6 of your jobs at a time: {now} "
                f"{'are' if later != 1 else 'is'} queued here and sent automatically as running jobs "
                "finish (keep the dashboard running).",
                icon=":material/queue:",
            )
    pending = forms.submit_button(
        "batch",
        # The count is what will be sent: lines that need fixing are not.
        f"Submit {len(valid)} prompt{'s' if len(valid) != 1 else ''}" if valid else "Submit",
        disabled=not valid,
        icon=":material/playlist_add_check:",
    )
    if pending:
        bar = st.progress(0.0, text="Submitting…")

        def on_progress(done: int, total: int, _result) -> None:
            bar.progress(done / total, text=f"Submitted {done} of {total}")

        if forms.take_pending("batch"):
            rows = forms.submit_prepared_batch(
                current, prepared, on_progress=on_progress, person=who
            )
            # Every batch sent stays in view, newest first; the form empties so it cannot be sent twice.
            state[BATCH_RESULTS] = [rows, *state.get(BATCH_RESULTS, [])]
            state[BATCH_SENT] = True
        st.rerun()
    for number, rows in enumerate(state.get(BATCH_RESULTS, [])):
        with st.container():  # a live part in a holder of its own (ui/live.py)
            forms.batch_results(current, rows, latest=number == 0)


current = studio()
# A viewer, or a live server anyone could reach with nobody signing in, gets the reason, not the form.
who = require_spending(current)
st.title("Create a video", anchor=False)
st.caption(
    "Legnext makes four ~4 s videos per job. Finished jobs appear in History and can be extended or upscaled."
)
linked_image = _apply_deep_link()
mode = st.segmented_control(
    "What to start from",
    list(MODES),
    format_func=MODES.get,
    required=True,
    key=MODE_KEY,
    default=None if MODE_KEY in st.session_state else "text",
)
if mode == "text":
    text_mode()
elif mode == "image_url":
    image_url_mode()
elif mode == "animate":
    animate_mode(linked_image)
else:
    batch_mode()
create_feed.show(current)
