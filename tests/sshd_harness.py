"""The SSH deployment's test bench (SSH 運用の試験台): a real OpenSSH server on loopback,
a real client key, and a real terminal (tmux) to drive the whole program as a person does.

``LoopbackSshd`` runs ``/usr/sbin/sshd -D -e -f <tmp config>`` on 127.0.0.1 as the current
user (root in CI), with a temporary host key and ``authorized_keys`` in a temporary
directory. Nothing of the machine's own sshd or ``~/.ssh`` is read or changed; the one
exception is the privilege-separation directory ``/run/sshd``, which a root sshd needs
and which is created if missing, as Debian's service script would.

The key's line follows SPEC §9 to the letter::

    command="<venv>/bin/dutypost --config <tmp config> --operator tanaka",restrict,pty ssh-ed25519 AAAA...

``TmuxTerminal`` is one detached tmux session of a given size on a private socket: send
keys, type or bracket-paste text, and read the screen as text (``capture-pane -p``) with a
bounded wait instead of fixed sleeps.

Fixtures: ``sshd`` (a running server whose key forces dutypost on a config with
``[ssh] service_user`` set to the current user) and ``tmux_terminal`` (a factory).
Both skip with a loud reason when the system packages are missing; CI installs them
(``.ci/run``: Debian ``openssh-server``, ``openssh-client``, ``tmux``).
"""

from __future__ import annotations

import getpass
import os
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator

import pytest

SSHD = Path("/usr/sbin/sshd")
DUTYPOST = Path(sys.executable).with_name("dutypost")
OPERATOR = "tanaka"
MISSING_PACKAGES = (
    "SKIPPED — {what} is not installed, so the SSH/terminal end-to-end tests did not run. "
    "Run .ci/run (it installs them), or: apt-get install -y openssh-server openssh-client tmux"
)


def service_user() -> str:
    """The OS user the loopback sshd runs commands as, i.e. the config's ``[ssh] service_user``."""
    return getpass.getuser()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def make_key(path: Path, comment: str) -> Path:
    """An unencrypted ed25519 key pair at ``path`` (private) and ``path.pub``."""
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", str(path)],
                   check=True, stdin=subprocess.DEVNULL)
    return path


def wait_until(condition: Callable[[], object], timeout: float = 30, what: str = "condition"):
    """Poll ``condition`` until it returns something true, and return that (a bounded wait)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"not reached within {timeout:.0f} s: {what}")


def dutypost_command(config: Path, operator: str = OPERATOR, *args: str) -> str:
    """The forced command of SPEC §9 for the venv's dutypost and the given config."""
    return shlex.join([str(DUTYPOST), "--config", str(config), "--operator", operator, *args])


@dataclass
class LoopbackSshd:
    """One running sshd on 127.0.0.1 and the client key it accepts."""

    directory: Path
    client_key: Path
    user: str
    config: Path | None = None
    port: int = field(default_factory=free_port)
    process: subprocess.Popen | None = None
    #: More sshd_config lines, e.g. ``Subsystem sftp internal-sftp`` for an SFTP replica.
    extra_config: tuple[str, ...] = ()

    @property
    def authorized_keys(self) -> Path:
        return self.directory / "authorized_keys"

    @property
    def log_path(self) -> Path:
        return self.directory / "sshd.log"

    @property
    def session_marker(self) -> str:
        """An environment entry every session of this server carries, to find its processes."""
        return f"SSHD_HARNESS_SESSION={self.directory}"

    def start(self, environment: dict[str, str]) -> None:
        """Start sshd; ``environment`` is what every session gets (``SetEnv``)."""
        host_key = make_key(self.directory / "host_ed25519", "dutypost-test-host")
        self.authorized_keys.touch(mode=0o600)
        set_env = " ".join(f'"{entry}"' for entry in
                           [*(f"{k}={v}" for k, v in environment.items()), self.session_marker])
        config = self.directory / "sshd_config"
        config.write_text(
            "\n".join([
                f"Port {self.port}",
                "ListenAddress 127.0.0.1",
                f"HostKey {host_key}",
                f"PidFile {self.directory / 'sshd.pid'}",
                f"AuthorizedKeysFile {self.authorized_keys}",
                f"AllowUsers {self.user}",
                "PermitRootLogin prohibit-password",  # this throwaway server only; CI runs as root
                "StrictModes no",                     # the key files live in a tmp dir
                "UsePAM no",
                "PubkeyAuthentication yes",
                "PasswordAuthentication no",
                "KbdInteractiveAuthentication no",
                "AllowTcpForwarding yes",             # so that refusals prove `restrict`, not this file
                "X11Forwarding no",
                "PrintMotd no",
                "LogLevel VERBOSE",
                f"SetEnv {set_env}",
                *self.extra_config,
            ]) + "\n",
            encoding="utf-8",
        )
        if os.geteuid() == 0:
            Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)
        log = self.log_path.open("wb")
        self.process = subprocess.Popen([str(SSHD), "-D", "-e", "-f", str(config)],
                                        stdin=subprocess.DEVNULL, stdout=log, stderr=log)
        log.close()
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"sshd exited with {self.process.returncode}:\n{self.log()}")
            if "Server listening on 127.0.0.1" in self.log():
                return
            time.sleep(0.05)
        raise RuntimeError(f"sshd did not start listening within 15 s:\n{self.log()}")

    def stop(self) -> None:
        """Stop sshd and whatever its sessions left running (a TUI whose client went away)."""
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        for pid in self.session_pids():
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass

    def session_pids(self) -> list[int]:
        """Processes started by this server's sessions (they carry :attr:`session_marker`)."""
        marker = self.session_marker.encode()
        pids = []
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                environ = (entry / "environ").read_bytes()
            except OSError:
                continue
            if marker in environ.split(b"\0"):
                pids.append(int(entry.name))
        return pids

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace") if self.log_path.exists() else ""

    def authorize(self, command: str | None, options: str = "restrict,pty") -> str:
        """Make the client key's ``authorized_keys`` line; ``command=None`` gives a plain key."""
        public = self.client_key.with_suffix(".pub").read_text(encoding="ascii").strip()
        prefix = []
        if command is not None:
            prefix.append('command="' + command.replace("\\", "\\\\").replace('"', '\\"') + '"')
        if options:
            prefix.append(options)
        line = (",".join(prefix) + " " if prefix else "") + public
        self.authorized_keys.write_text(line + "\n", encoding="utf-8")
        return line

    def ssh_argv(self, *options: str, port: int | None = None) -> list[str]:
        """The client command line up to the destination; ``options`` go before it.

        ``port`` connects elsewhere than the server's own port (e.g. through a relay).
        """
        return [
            "ssh", "-F", "/dev/null", "-i", str(self.client_key), "-p", str(port or self.port),
            "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
            "-o", "BatchMode=yes", "-o", "LogLevel=ERROR",
            "-o", "IdentitiesOnly=yes", "-o", "IdentityAgent=none",
            *options, f"{self.user}@127.0.0.1",
        ]

    def run(self, *options: str, remote: tuple[str, ...] = (), timeout: float = 30) -> subprocess.CompletedProcess:
        """Run the client to completion (stdin closed) and return its output as text.

        A client still running after ``timeout`` is killed; whatever it printed is returned
        with ``returncode`` -9.
        """
        argv = self.ssh_argv(*options) + list(remote)
        try:
            return subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                                  encoding="utf-8", errors="replace", timeout=timeout)
        except subprocess.TimeoutExpired as exc:
            def text(data) -> str:
                return data.decode("utf-8", "replace") if isinstance(data, bytes) else (data or "")
            return subprocess.CompletedProcess(argv, -9, text(exc.stdout), text(exc.stderr))


@pytest.fixture(scope="session")
def ssh_client_key(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One client key pair per test session."""
    if not SSHD.exists():
        pytest.skip(MISSING_PACKAGES.format(what=f"{SSHD} (openssh-server)"))
    return make_key(tmp_path_factory.mktemp("ssh-client") / "id_ed25519", "dutypost-test-operator")


@pytest.fixture
def service_config(config_file) -> Callable[..., Path]:
    """``config_file`` with ``[ssh] service_user`` set to the user the loopback sshd runs as."""

    def make(extra: str = "", replace: dict[str, str] | None = None) -> Path:
        sections = {"ssh": f'service_user = "{service_user()}"', **(replace or {})}
        return config_file(extra=extra, replace=sections)

    return make


@pytest.fixture
def sshd(tmp_path: Path, ssh_client_key: Path, service_config) -> Iterator[LoopbackSshd]:
    """A running loopback sshd whose one key forces ``dutypost --config CFG --operator tanaka``.

    ``sshd.config`` is the config path; rewrite it with ``service_config(...)`` (same path)
    to point it at a practice server. Sessions get this test's HOME and XDG directories.
    """
    if not SSHD.exists():
        pytest.skip(MISSING_PACKAGES.format(what=f"{SSHD} (openssh-server)"))
    directory = tmp_path / "sshd"
    directory.mkdir()
    server = LoopbackSshd(directory=directory, client_key=ssh_client_key, user=service_user(),
                          config=service_config())
    server.authorize(dutypost_command(server.config))
    environment = {name: os.environ[name] for name in ("HOME", "XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_STATE_HOME")}
    server.start(environment)
    try:
        yield server
    finally:
        server.stop()


class TmuxTerminal:
    """One detached tmux session (a terminal of ``width``×``height`` cells) on a private socket.

    tmux runs in UTF-8 (``-u``, ``LANG=C.UTF-8``) with no user config; the program in the
    pane gets ``LANG=C.UTF-8`` unless ``start(env=...)`` says otherwise.
    """

    def __init__(self, socket_path: Path, width: int = 80, height: int = 24) -> None:
        self.socket_path = socket_path
        self.width = width
        self.height = height

    def tmux(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        return subprocess.run(["tmux", "-u", "-f", "/dev/null", "-S", str(self.socket_path), *args],
                              capture_output=True, text=True, encoding="utf-8", errors="replace",
                              check=check, stdin=subprocess.DEVNULL, env={**os.environ, "LANG": "C.UTF-8"})

    def start(self, argv: list[str], env: dict[str, str] | None = None) -> None:
        """Run ``argv`` in a new session; ``env`` (e.g. TERM, NO_COLOR) is set for it alone.

        The pane stays after the program exits, so its last screen can still be read.
        """
        variables = {"LANG": "C.UTF-8", **(env or {})}
        command = shlex.join(["env", *(f"{k}={v}" for k, v in variables.items()), *argv])
        self.tmux("start-server", ";", "set-option", "-g", "remain-on-exit", "on",
                  ";", "new-session", "-d", "-s", "main", "-x", str(self.width), "-y", str(self.height), command)

    def send_keys(self, *keys: str) -> None:
        """Keys by tmux name (``Enter``, ``Tab``, ``C-s``, ``F5``) or plain letters."""
        self.tmux("send-keys", "-t", "main", *keys)

    def type_text(self, text: str) -> None:
        """Type ``text`` literally, as an IME commits it."""
        self.tmux("send-keys", "-t", "main", "-l", text)

    def paste(self, text: str) -> None:
        """Paste ``text`` with bracketed paste (when the application asked for it)."""
        self.tmux("set-buffer", "-b", "test-paste", text)
        self.tmux("paste-buffer", "-p", "-d", "-b", "test-paste", "-t", "main")

    def screen(self, scrollback: bool = False) -> str:
        """The visible screen as text; with ``scrollback`` the lines scrolled off it too
        (a dead pane scrolls its last output up by a line)."""
        return self.tmux("capture-pane", "-p", "-t", "main", *(["-S", "-"] if scrollback else [])).stdout

    def pane_dead(self) -> bool:
        result = self.tmux("display-message", "-p", "-t", "main", "#{pane_dead}", check=False)
        return result.stdout.strip() == "1"

    def wait_for(self, expected: str | Callable[[str], bool], timeout: float = 30, *,
                 scrollback: bool = False, what: str = "") -> str:
        """Poll the screen until ``expected`` (text or predicate) shows; fail with the screen."""
        found = (lambda s: expected in s) if isinstance(expected, str) else expected
        deadline = time.monotonic() + timeout
        screen = ""
        while time.monotonic() < deadline:
            screen = self.screen(scrollback)
            if found(screen):
                return screen
            time.sleep(0.1)
        what = what or (expected if isinstance(expected, str) else "condition")
        raise AssertionError(f"not on screen within {timeout:.0f} s: {what!r}\n--- screen ---\n{screen}")

    def kill(self) -> None:
        self.tmux("kill-server", check=False)


@pytest.fixture
def tmux_terminal() -> Iterator[Callable[..., TmuxTerminal]]:
    """A factory of tmux terminals: ``tmux_terminal(width=80, height=24)``; all killed after."""
    if shutil.which("tmux") is None:
        pytest.skip(MISSING_PACKAGES.format(what="tmux"))
    sockets = Path(tempfile.mkdtemp(prefix="dp-tmux-"))  # short: a socket path has ~100 bytes
    made: list[TmuxTerminal] = []

    def make(width: int = 80, height: int = 24) -> TmuxTerminal:
        terminal = TmuxTerminal(sockets / f"{len(made)}.sock", width, height)
        made.append(terminal)
        return terminal

    try:
        yield make
    finally:
        for terminal in made:
            terminal.kill()
        shutil.rmtree(sockets, ignore_errors=True)
