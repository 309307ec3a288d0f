"""A private, throw-away PostgreSQL cluster for tests, benchmarks and trying replicas by hand.

    python -m scripts.throwaway_postgres      # prints a URL, serves until Ctrl-C, then deletes it

It runs Debian's server binaries (``apt-get install postgresql``) from a temporary folder: its own data
folder, its own unix socket folder, a free loopback port, trust authentication for loopback and the
private socket only. It never touches a system cluster. PostgreSQL refuses to run as root, so when we are
root the server runs as the ``postgres`` user Debian's package creates, and the folder is handed to it.
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

__all__ = ["PostgresMissingError", "ThrowawayCluster", "find_server_binaries", "missing_reason"]

#: The superuser and database the cluster is made with.
SUPERUSER = "postgres"
DATABASE = "postgres"


class PostgresMissingError(RuntimeError):
    """PostgreSQL's server binaries (or a user to run them as) are not on this machine."""


def find_server_binaries() -> Path | None:
    """The folder holding ``initdb`` and ``pg_ctl``: on PATH, else Debian's newest version folder."""
    on_path = shutil.which("initdb")
    if on_path and shutil.which("pg_ctl"):
        return Path(os.path.realpath(on_path)).parent
    versions = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/initdb"),
        key=lambda p: int(Path(p).parent.parent.name) if Path(p).parent.parent.name.isdigit() else 0,
    )
    return Path(versions[-1]).parent if versions else None


def _run_as() -> str | None:
    """The user to run the server as: None for ourselves, ``postgres`` when we are root."""
    if os.name != "posix" or os.geteuid() != 0:
        return None
    return "postgres"


def missing_reason() -> str | None:
    """Why a throw-away cluster cannot be started here, or None if it can."""
    if find_server_binaries() is None:
        return "PostgreSQL's server is not installed: sudo apt-get install -y postgresql"
    user = _run_as()
    if user is not None:
        import pwd

        try:
            pwd.getpwnam(user)
        except KeyError:
            return f"running as root and there is no {user!r} user to run PostgreSQL as"
    try:
        import psycopg  # noqa: F401
    except ImportError:
        return "psycopg is not installed: pip install -r requirements.txt"
    return None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class ThrowawayCluster:
    """One PostgreSQL server in a temporary folder; ``stop()`` (or leaving ``with``) deletes it all.

    ``durable=False`` turns fsync off: right for tests (fast, and nothing outlives them), wrong for
    benchmarks, which keep PostgreSQL's default durable commits.
    """

    def __init__(self, *, durable: bool = True, settings: dict[str, str] | None = None) -> None:
        self.durable = durable
        self.settings = dict(settings or {})
        self.bin_dir: Path | None = None
        self.folder: Path | None = None
        self.port: int | None = None
        self._user = _run_as()

    # -- where it is -------------------------------------------------------------------------------------
    @property
    def host(self) -> str:
        return "127.0.0.1"

    def url(self, database: str = DATABASE) -> str:
        if self.port is None:
            raise RuntimeError("the cluster is not running")
        return f"postgresql://{SUPERUSER}@{self.host}:{self.port}/{database}"

    @property
    def log_path(self) -> Path:
        assert self.folder is not None
        return self.folder / "server.log"

    # -- life --------------------------------------------------------------------------------------------
    def start(self, *, attempts: int = 3) -> ThrowawayCluster:
        reason = missing_reason()
        if reason is not None:
            raise PostgresMissingError(reason)
        self.bin_dir = find_server_binaries()
        self.folder = Path(tempfile.mkdtemp(prefix="legnext-pg-"))
        try:
            self._init()
            for attempt in range(attempts):
                # A port found free can be taken by someone else before the server binds it.
                self.port = _free_port()
                try:
                    self._pg_ctl("start", "-w", "-t", "60", "-l", str(self.log_path), "-o", self._options())
                    return self
                except subprocess.CalledProcessError:
                    if attempt == attempts - 1:
                        raise
        except BaseException as exc:
            log = self.log_path.read_text(errors="replace")[-2000:] if self.log_path.exists() else ""
            self._remove_folder()
            if isinstance(exc, subprocess.CalledProcessError):
                output = (exc.stdout or "") + (exc.stderr or "")
                raise RuntimeError(f"PostgreSQL did not start: {output.strip()}\n{log}") from None
            raise
        return self

    def stop(self) -> None:
        if self.folder is None:
            return
        with contextlib.suppress(subprocess.CalledProcessError, FileNotFoundError):
            if (self.folder / "data" / "postmaster.pid").exists():
                self._pg_ctl("stop", "-w", "-t", "30", "-m", "immediate")
        self._remove_folder()
        self.port = None

    def __enter__(self) -> ThrowawayCluster:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # -- internals ---------------------------------------------------------------------------------------
    def _init(self) -> None:
        assert self.folder is not None
        (self.folder / "socket").mkdir()
        if self._user is not None:
            shutil.chown(self.folder, self._user)
            shutil.chown(self.folder / "socket", self._user)
        self._run(
            "initdb",
            "-D",
            str(self.folder / "data"),
            "-U",
            SUPERUSER,
            "--auth=trust",
            "--encoding=UTF8",
            "--locale=C",
            "--no-sync",
        )
        # Trust, but only from loopback and the socket inside our temporary folder (mode 0700).
        (self.folder / "data" / "pg_hba.conf").write_text(
            "local all all trust\nhost all all 127.0.0.1/32 trust\nhost all all ::1/128 trust\n"
        )

    def _options(self) -> str:
        assert self.folder is not None
        settings = {
            "listen_addresses": "127.0.0.1",
            "port": str(self.port),
            "unix_socket_directories": str(self.folder / "socket"),
            "max_connections": "100",
            "shared_buffers": "64MB",
        }
        if not self.durable:
            settings.update(fsync="off", synchronous_commit="off", full_page_writes="off")
        settings.update(self.settings)
        return " ".join(f"-c {key}={value}" for key, value in settings.items())

    def _pg_ctl(self, *args: str) -> None:
        assert self.folder is not None
        self._run("pg_ctl", "-D", str(self.folder / "data"), *args)

    def _run(self, program: str, *args: str) -> None:
        assert self.bin_dir is not None
        command = [str(self.bin_dir / program), *args]
        if self._user is not None:
            command = ["runuser", "-u", self._user, "--", *command]
        subprocess.run(command, check=True, capture_output=True, text=True, cwd=self.folder, timeout=120)

    def _remove_folder(self) -> None:
        if self.folder is not None:
            shutil.rmtree(self.folder, ignore_errors=True)
            self.folder = None


def main() -> None:
    with ThrowawayCluster(durable=True) as cluster:
        print(cluster.url(), flush=True)
        print("Serving until Ctrl-C; the cluster is deleted when it stops.", flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            while True:
                time.sleep(3600)


if __name__ == "__main__":
    main()
