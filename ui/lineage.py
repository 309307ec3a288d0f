"""Where a job sits in its family (image -> video -> extensions -> upscale) and what can follow from it.

The tree is read from the job log only: parents through ``parent_job_id``, children through
``store.children``. The follow-up buttons open the making pages with their fields filled in, through the
same deep links a person can paste (``/extend?job=..&variant=..`` and the others).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import streamlit as st

from legnext_core import history
from legnext_core.models import EXTENSION_SECONDS
from legnext_core.records import JobRecord

#: A family larger than this is cut short in the tree (a long-running account can pile up reruns).
MAX_TREE_NODES = 60
#: Legnext documents follow-up actions as valid for three days after a job was created.
FOLLOW_UP_WINDOW_SECONDS = 3 * 86400
#: The kinds whose outputs are videos that Legnext can extend and upscale.
EXTENDABLE_KINDS = frozenset({"text_video", "image_url_video", "animate", "extend"})


@dataclass(frozen=True)
class LineageNode:
    depth: int
    record: JobRecord
    is_current: bool


def _root(store, record: JobRecord) -> JobRecord:
    seen = {record.local_id}
    current = record
    while current.parent_job_id:
        parent = store.by_job_id(current.parent_job_id)
        if parent is None or parent.local_id in seen:
            break
        seen.add(parent.local_id)
        current = parent
    return current


def lineage_nodes(store, record: JobRecord, *, limit: int = MAX_TREE_NODES) -> list[LineageNode]:
    """The family of ``record`` from its oldest known ancestor down, depth first, oldest child first."""
    root = _root(store, record)
    nodes: list[LineageNode] = []
    stack: list[tuple[int, JobRecord]] = [(0, root)]
    seen: set[str] = set()
    while stack and len(nodes) < limit:
        depth, node = stack.pop()
        if node.local_id in seen:
            continue
        seen.add(node.local_id)
        nodes.append(LineageNode(depth, node, node.local_id == record.local_id))
        if node.job_id:
            children = sorted(store.children(node.job_id), key=lambda r: r.submitted_at or 0)
            stack.extend((depth + 1, child) for child in reversed(children))
    return nodes


def node_label(record: JobRecord) -> str:
    kind = history.KIND_LABELS.get(record.kind or "", record.kind or "Job")
    variant = record.parent_index
    of_variant = f" of #{variant + 1}" if isinstance(variant, int) and record.parent_job_id else ""
    status = record.status or "?"
    return f"{kind}{of_variant} · {history.STATUS_LABELS.get(status, status).lower()}"


def job_link_params(record: JobRecord) -> dict[str, str]:
    """The query parameters of the detail view for a record (its local id until Legnext gave one)."""
    return {"job": record.job_id or record.local_id}


def extend_block_reason(record: JobRecord, index: int, chain) -> str | None:
    """Why variant ``index`` of ``record`` cannot be extended, or None when it can."""
    if record.kind not in EXTENDABLE_KINDS:
        return "Only videos can be extended (an upscaled video cannot)."
    if record.status != "completed":
        return "The job has not completed."
    if chain is not None and chain.extensions_left <= 0:
        return f"This chain is full: {chain.extensions} extensions, {chain.seconds:g} s (Legnext allows 4)."
    if index not in (record.available_actions or {}).get("extend", []):
        return "Legnext does not offer an extension for this video."
    return None


def upscale_block_reason(record: JobRecord, index: int) -> str | None:
    if record.kind not in EXTENDABLE_KINDS:
        return "Only videos can be upscaled, once."
    if record.status != "completed":
        return "The job has not completed."
    if index not in (record.available_actions or {}).get("upscale", []):
        return "Legnext does not offer an upscale for this video."
    return None


def follow_up_expired(record: JobRecord, now: float | None = None) -> bool:
    created = record.created_at or record.submitted_at
    if not created:
        return False
    return (now or time.time()) - created > FOLLOW_UP_WINDOW_SECONDS


def variant_actions(record: JobRecord, index: int, chain, *, key_prefix: str) -> None:
    """The follow-up buttons under one output: Extend and Upscale for videos, Animate for images."""
    job_id = record.job_id
    if not job_id:
        return
    if record.kind == "image":
        if st.button(
            "Animate this image",
            icon=":material/animation:",
            key=f"{key_prefix}-animate-{index}",
            disabled=record.status != "completed",
        ):
            st.switch_page(
                "pages/create.py", query_params={"mode": "animate", "image_job": job_id, "image": str(index)}
            )
        return
    extend_reason = extend_block_reason(record, index, chain)
    upscale_reason = upscale_block_reason(record, index)
    left, right = st.columns(2)
    follow_ups = (
        (left, "Extend", ":material/more_time:", "extend", extend_reason,
         f"Add {EXTENSION_SECONDS} s to this video."),
        (right, "Upscale", ":material/high_quality:", "upscale", upscale_reason,
         "Make a higher-resolution copy of this video."),
    )  # fmt: skip
    for column, label, icon, page, reason, what in follow_ups:
        with column:
            if st.button(
                label,
                icon=icon,
                key=f"{key_prefix}-{page}-{index}",
                disabled=reason is not None,
                help=reason or what,
                width="stretch",
            ):
                st.switch_page(f"pages/{page}.py", query_params={"job": job_id, "variant": str(index)})
    if extend_reason is not None and record.status == "completed":
        st.caption(f"Extend: {extend_reason}")


def show_lineage(store, record: JobRecord) -> None:
    """The family tree with a link to each member, and the extension chain's length and time left."""
    nodes = lineage_nodes(store, record)
    if len(nodes) <= 1:
        st.caption("No parent or follow-up jobs yet.")
    for node in nodes if len(nodes) > 1 else []:
        indent = "\u2003\u2003" * node.depth + ("└ " if node.depth else "")
        label = indent + node_label(node.record)
        # The current job is drawn as the same (disabled) link as its relatives, so it keeps their
        # indentation and icon: Markdown would strip the leading spaces and put it at the root.
        st.page_link(
            "pages/job.py",
            label=label + (" (this job)" if node.is_current else ""),
            query_params=job_link_params(node.record),
            icon=":material/subdirectory_arrow_right:" if node.depth else ":material/account_tree:",
            disabled=node.is_current,
        )
    if len(nodes) >= MAX_TREE_NODES:
        st.caption(f"Only the first {MAX_TREE_NODES} jobs of this family are shown.")
    job_id = record.job_id
    if job_id and record.kind in EXTENDABLE_KINDS and record.status == "completed":
        chain = store.extension_chain(job_id)
        st.caption(
            f":material/link: Extension chain: {chain.extensions} of 4 extensions, {chain.seconds:g} s long, "
            f"{chain.seconds_left:g} s left"
        )
