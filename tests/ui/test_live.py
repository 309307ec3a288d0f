"""Live parts (``ui.live``): why a refreshing fragment is drawn in a holder of its own, and that it is."""

from __future__ import annotations

from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
from streamlit.runtime.forward_msg_queue import ForwardMsgQueue
from streamlit.testing.v1 import AppTest


def _delta(path: list[int], fragment_id: str = "") -> ForwardMsg:
    msg = ForwardMsg()
    msg.metadata.delta_path[:] = path
    msg.delta.add_block.SetInParent()
    if fragment_id:
        msg.delta.fragment_id = fragment_id
    return msg


def test_a_refresh_starting_before_a_full_run_is_sent_drops_that_runs_fragment_container():
    """The Streamlit behaviour the holder guards against. If this starts failing, Streamlit changed it:
    the holder then costs one block and may no longer be needed."""
    queue = ForwardMsgQueue()
    started = ForwardMsg()
    started.new_session.SetInParent()
    finished = ForwardMsg()
    finished.script_finished = ForwardMsg.FINISHED_SUCCESSFULLY
    for msg in (started, _delta([0, 0]), _delta([0, 1], "live"), _delta([0, 2]), finished):
        queue.enqueue(msg)
    # What AppSession does when the fragment's timer run starts, before the queue reached the browser.
    queue.clear(retain_lifecycle_msgs=True, fragment_ids_this_run=["live"])
    sent = queue.flush()
    assert [list(m.metadata.delta_path) for m in sent if m.HasField("delta")] == [[0, 0], [0, 2]]
    assert sent[-1].script_finished == ForwardMsg.FINISHED_SUCCESSFULLY  # so the browser prunes as stale


def _page() -> None:
    import streamlit as st

    from ui.live import live_fragment

    def body() -> None:
        st.caption("refreshing")

    st.caption("before")
    live_fragment(body, 2)
    st.button("after")


def test_a_live_part_is_the_only_child_of_its_holder_and_what_follows_is_its_sibling():
    at = AppTest.from_function(_page).run()
    main = at._tree.children[0]  # noqa: SLF001 - AppTest offers no public walk over blocks
    kinds = [type(node).__name__ for node in main.children.values()]
    assert kinds == ["Caption", "Block", "Button"], kinds
    holder = main.children[1]
    assert len(holder.children) == 1  # the fragment's own container, nothing after it to shift
    (container,) = holder.children.values()
    assert type(container).__name__ == "Block"  # drawn bare, the caption would sit here instead
    assert [c.value for c in container.children.values()] == ["refreshing"]
