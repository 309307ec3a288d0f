"""The job page's results: each output with what can follow it (extend, upscale, animate)."""

from __future__ import annotations

import streamlit as st

from legnext_core.records import JobRecord
from legnext_core.studio import Studio
from ui import lineage
from ui.variants import show_variants


def show_results(current: Studio, record: JobRecord) -> None:
    local_id = record.local_id
    job_id = record.job_id
    st.subheader("Results")
    extendable = record.kind in lineage.EXTENDABLE_KINDS
    chain = current.store.extension_chain(job_id) if job_id and extendable else None
    if lineage.follow_up_expired(record):
        st.caption(
            ":material/schedule: Legnext accepts follow-ups (extend, upscale, animate) for 3 days after "
            "a job was made; this one is older, so they may be refused."
        )
    show_variants(
        record,
        key_prefix=f"job-{local_id}",
        columns=2,
        actions=lambda variant: lineage.variant_actions(
            record, variant.index, chain, key_prefix=f"job-{local_id}"
        ),
    )
