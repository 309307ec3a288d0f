"""The places the dashboard reaches into a library's private or undocumented parts still find them.

Each hook lives in one function (of ``ui/server.py``; the chain player's media one in
``ui/chain_player.py``) with its reason beside it. When a Streamlit upgrade moves what the hook relies
on, these tests fail and say which hook to revisit, instead of the dashboard quietly losing its sidebar
on deep links or answering ~40 ms slower.
"""

from __future__ import annotations

import inspect
import socket

import streamlit.commands.navigation as navigation
from streamlit.runtime.pages_manager import PagesManager

from ui.server import disable_nagle_on_listener, leave_pages_directory_mode


def test_the_pages_directory_flag_is_the_one_st_navigation_clears():
    hook = "ui.server.leave_pages_directory_mode (PagesManager.uses_pages_directory)"
    assert hasattr(PagesManager, "uses_pages_directory"), f"{hook}: Streamlit no longer has the flag"
    assert "PagesManager.uses_pages_directory = False" in inspect.getsource(navigation), (
        f"{hook}: st.navigation no longer clears this flag; find how Streamlit now leaves pages/ mode"
    )
    before = PagesManager.uses_pages_directory
    try:
        leave_pages_directory_mode()
        assert PagesManager.uses_pages_directory is False
    finally:
        PagesManager.uses_pages_directory = before


def test_the_socket_hunt_finds_a_listener_bound_the_way_streamlit_binds_it():
    hook = "ui.server.disable_nagle_on_listener (a search of gc.get_objects() for the listening socket)"
    # proto=0, as Streamlit 1.67 binds its server socket: asyncio then leaves TCP_NODELAY off.
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM, 0) as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        assert not listener.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)
        assert disable_nagle_on_listener(port) == 1, f"{hook}: the listener was not found"
        assert listener.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY), f"{hook}: option not set"


def test_the_sign_in_return_watches_the_path_st_login_navigates_to():
    hook = "ui.server.return_after_sign_in (streamlit.user_info.AUTH_LOGIN_ENDPOINT)"
    from streamlit.user_info import generate_login_redirect_url

    from ui.server import return_after_sign_in

    watched = return_after_sign_in().kwargs["login_path"]
    assert "AUTH_LOGIN_ENDPOINT" in inspect.getsource(generate_login_redirect_url), (
        f"{hook}: st.login no longer builds its URL from AUTH_LOGIN_ENDPOINT; find where it sends the browser"
    )
    assert generate_login_redirect_url.__module__ == "streamlit.user_info"
    assert watched == "/auth/login", f"{hook}: Streamlit's sign-in route moved to {watched}"


def test_the_chain_player_serves_archived_files_the_way_st_video_does():
    hook = "ui.chain_player._served_url (runtime.get_instance().media_file_mgr.add)"
    import streamlit.elements.media as media
    from streamlit.runtime.media_file_manager import MediaFileManager

    assert "runtime.get_instance().media_file_mgr.add(" in inspect.getsource(media), (
        f"{hook}: st.video no longer registers files with the media file manager; serve them as it now does"
    )
    parameters = list(inspect.signature(MediaFileManager.add).parameters)
    assert parameters[:4] == ["self", "path_or_data", "mimetype", "coordinates"], f"{hook}: add() changed"
