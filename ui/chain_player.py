"""The chain player: one video element that plays an extended video's whole chain, part after part.

Streamlit 1.67 has no playlist, and ``st.video`` cannot be told to move on when a video ends, so this
is a small ``st.components.v2`` component: its HTML, CSS and script are fixed strings defined here, it
runs in the page (in a shadow root, no iframe), and the parts reach it only as ``data``, which
Streamlit sends as JSON. The script puts URLs and labels into the page as properties and text
(``video.src``, ``textContent``), never as markup, so nothing from the job log can become HTML.
Prompts are never sent to it.

A part plays from the same source as the Gallery's own player: the archived copy, served by
Streamlit's media endpoint exactly as ``st.video`` serves a file, else Legnext's URL.
"""

from __future__ import annotations

import mimetypes
from typing import Any

import streamlit as st
from streamlit import config, runtime
from streamlit.runtime.media_file_storage import MediaFileStorageError

from legnext_core.gallery import ChainPart, chain_parts
from legnext_core.records import JobRecord
from legnext_core.studio import Studio

_HTML = """
<div class="chain">
  <video controls playsinline preload="metadata"></video>
  <p class="now" aria-live="polite"></p>
  <div class="controls">
    <div class="parts" role="group" aria-label="Jump to a part"></div>
    <label><input type="checkbox" name="loop"> Loop the chain</label>
  </div>
</div>
"""

_CSS = """
.chain { font-family: var(--st-font, sans-serif); color: var(--st-text-color, inherit); }
/* At most 60% of the window high, so what is playing and the parts stay in sight under it. */
video {
  width: 100%; max-height: 60vh; display: block; background: #000;
  border-radius: var(--st-base-radius, 0.5rem);
}
.now { margin: 0.4rem 0; font-weight: 600; }
.controls { display: flex; flex-wrap: wrap; gap: 0.75rem; align-items: center; }
.parts { display: flex; flex-wrap: wrap; gap: 0.4rem; }
.parts button {
  font: inherit; padding: 0.2rem 0.7rem; cursor: pointer; color: inherit;
  background: transparent; border: 1px solid var(--st-border-color, #ccc);
  border-radius: var(--st-base-radius, 0.5rem);
}
.parts button[aria-current="true"] {
  border-color: var(--st-primary-color, #f63366); color: var(--st-primary-color, #f63366);
}
label { display: inline-flex; gap: 0.3rem; align-items: center; cursor: pointer; }
"""

# Called on mount and again whenever Streamlit hands the component new data or a new theme: a call
# with the chain already loaded leaves the video where it is.
_JS = """
export default function ({ data, parentElement }) {
  const root = parentElement.querySelector(".chain");
  const signature = JSON.stringify(data.parts);
  if (root.dataset.parts === signature) return;
  root.dataset.parts = signature;

  const video = root.querySelector("video");
  const now = root.querySelector(".now");
  const loop = root.querySelector("input[name=loop]");
  const group = root.querySelector(".parts");
  const parts = data.parts;
  let current = 0;

  const buttons = parts.map((part, i) => {
    const button = document.createElement("button");
    button.type = "button";
    button.textContent = `Part ${part.number}`;
    button.title = part.label;
    button.addEventListener("click", () => show(i, true));
    return button;
  });
  group.replaceChildren(...buttons);

  function show(i, play) {
    current = i;
    const part = parts[i];
    video.src = part.url;
    now.textContent = `${part.title} · ${part.label}`;
    buttons.forEach((button, j) => button.setAttribute("aria-current", String(j === i)));
    if (play) video.play().catch(() => {});
  }

  video.muted = true;
  video.onended = () => {
    if (current + 1 < parts.length) show(current + 1, true);
    else if (loop.checked) show(0, true);
  };
  show(0, false);
}
"""

_player = st.components.v2.component("legnext_chain_player", html=_HTML, css=_CSS, js=_JS)


def _served_url(part: ChainPart, coordinates: str) -> str | None:
    """The URL the browser plays ``part`` from: the archived copy through Streamlit's media endpoint,
    else Legnext's URL.

    A component cannot be handed a file, so the file is registered with the runtime's media file
    manager as ``st.video`` registers one (not a documented API: tests/test_private_hooks.py fails,
    naming this, when it moves). The URL holds for as long as this session shows the player.
    """
    if part.local_file is not None and runtime.exists():
        mimetype = mimetypes.guess_type(part.local_file.name)[0] or "video/mp4"
        try:
            url = runtime.get_instance().media_file_mgr.add(str(part.local_file), mimetype, coordinates)
        except MediaFileStorageError:  # the file went after it was found: Legnext's URL, if any
            return part.url
        base = str(config.get_option("server.baseUrlPath") or "").strip("/")
        return f"/{base}{url}" if base else url
    return part.url


def chain_of(studio: Studio, record: JobRecord, index: int) -> list[ChainPart]:
    """The chain that ends with ``record``'s video ``index``, oldest part first (one part: not extended)."""
    return chain_parts(studio.store, record, index, studio.settings.media_dir)


def chain_player(parts: list[ChainPart], *, key: str) -> None:
    """``parts`` in one player, from the first; a note under it for each part it skips."""
    playlist: list[dict[str, Any]] = []
    skipped: list[ChainPart] = []
    for part in parts:
        url = _served_url(part, f"{key}:{part.number}")
        if url is None:
            skipped.append(part)
        else:
            playlist.append({"number": part.number, "title": part.title, "label": part.label, "url": url})
    if playlist:
        _player(key=key, data={"parts": playlist})
    for part in skipped:
        st.caption(f"{part.title} ({part.label}) is neither archived nor reachable any more: skipped.")
