"""Bytes on the wire over SSH (SSH の通信量): per typed character and per screen change.

Runs the real thing: a loopback sshd (tests/sshd_harness.py) whose key forces
``dutypost --config CFG --operator tanaka --drill`` against a practice server, the ssh
client inside a tmux terminal of 80×24, and between them a small TCP relay on 127.0.0.1
that counts the bytes each way. Each measurement is taken with ``-o Compression=no`` and
``-o Compression=yes``, and the table shows bytes from the server (画面) and to it (キー).

    .venv/bin/python bench/ssh_bytes.py [--chars 20] [--width 80 --height 24]

Needs openssh-server, openssh-client and tmux (``.ci/run`` installs them). Figures vary a
little with timing (Textual batches redraws), so they are rounded; read them as sizes.
"""

from __future__ import annotations

import argparse
import dataclasses
import socket
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))

from sshd_harness import LoopbackSshd, TmuxTerminal, dutypost_command, make_key, service_user  # noqa: E402

QUIET_SECONDS = 0.6  # no bytes for this long: the screen has settled


class CountingRelay:
    """A TCP relay on 127.0.0.1 to ``target_port`` that counts bytes each way (通信量の計測)."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.down = 0  # server → client: the screen
        self.up = 0    # client → server: the keys
        self.last_traffic = time.monotonic()
        self._lock = threading.Lock()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            server = socket.create_connection(("127.0.0.1", self.target_port))
            threading.Thread(target=self._pump, args=(client, server, "up"), daemon=True).start()
            threading.Thread(target=self._pump, args=(server, client, "down"), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket, direction: str) -> None:
        try:
            while data := source.recv(65536):
                with self._lock:
                    setattr(self, direction, getattr(self, direction) + len(data))
                    self.last_traffic = time.monotonic()
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (source, sink):
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def counts(self) -> tuple[int, int]:
        with self._lock:
            return self.down, self.up

    def settle(self, timeout: float = 10) -> None:
        """Wait until no byte has passed for ``QUIET_SECONDS`` (or ``timeout``)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                quiet = time.monotonic() - self.last_traffic
            if quiet >= QUIET_SECONDS:
                return
            time.sleep(0.05)

    def close(self) -> None:
        self._listener.close()


@dataclasses.dataclass
class Traffic:
    down: int
    up: int


class Session:
    """One officer's session: ssh (through the relay) in a tmux terminal, forced into dutypost."""

    def __init__(self, sshd: LoopbackSshd, relay: CountingRelay, terminal: TmuxTerminal, compression: bool) -> None:
        self.relay = relay
        self.terminal = terminal
        argv = sshd.ssh_argv("-tt", "-o", f"Compression={'yes' if compression else 'no'}", port=relay.port)
        terminal.start(argv, env={"TERM": "xterm-256color"})

    def measure(self, action, *, expect: str | None = None) -> Traffic:
        """Bytes each way from just before ``action`` until the screen has settled."""
        self.relay.settle()
        down, up = self.relay.counts()
        action()
        if expect is not None:
            self.terminal.wait_for(expect)
        deadline = time.monotonic() + 3
        while self.relay.counts()[0] == down and time.monotonic() < deadline:
            time.sleep(0.02)  # the answer has not started yet
        self.relay.settle()
        after_down, after_up = self.relay.counts()
        return Traffic(after_down - down, after_up - up)

    def per_key(self, keys: str) -> Traffic:
        """Average bytes per character, each typed alone and its redraw awaited (incl. the preview)."""
        total = Traffic(0, 0)
        for key in keys:
            t = self.measure(lambda: self.terminal.type_text(key))
            total = Traffic(total.down + t.down, total.up + t.up)
        return Traffic(round(total.down / len(keys)), round(total.up / len(keys)))

    def idle(self, seconds: float) -> Traffic:
        self.relay.settle()
        down, up = self.relay.counts()
        time.sleep(seconds)
        after_down, after_up = self.relay.counts()
        return Traffic(round((after_down - down) / seconds), round((after_up - up) / seconds))


def write_config(directory: Path, practice_url: str) -> Path:
    """The example town, drill posts to the practice server, ledger in ``directory``."""
    from dutypost.core.config import EXAMPLE_CONFIG

    text = EXAMPLE_CONFIG.read_text(encoding="utf-8")
    text = text.replace('# path = "/var/lib/dutypost/ledger.sqlite3"', f'path = "{directory / "ledger.sqlite3"}"')
    text = text.replace('service_user = "dutypost"', f'service_user = "{service_user()}"')
    text = text.replace('api_base_url = "http://127.0.0.1:8787"', f'api_base_url = "{practice_url}"')
    path = directory / "config.toml"
    path.write_text(text, encoding="utf-8")
    return path


def quick_number(template_id: str, config: Path) -> str:
    """The two-digit number the home screen shows for ``template_id``."""
    from dutypost.core.config_loader import load_settings
    from dutypost.core.templates import bundled_dirs, load_templates

    ids = [t.id for t in load_templates(bundled_dirs(load_settings(config))).templates]
    return f"{ids.index(template_id) + 1:02d}"


def run_session(workdir: Path, client_key: Path, practice_url: str, *, compression: bool, chars: int,
                width: int, height: int, slow_link: bool) -> dict[str, Traffic]:
    workdir.mkdir()
    config = write_config(workdir, practice_url)
    sshd = LoopbackSshd(directory=workdir, client_key=client_key, user=service_user(), config=config)
    extra = ["--drill"] + (["--slow-link"] if slow_link else [])
    sshd.authorize(dutypost_command(config, "tanaka", *extra))
    home = workdir / "home"
    sshd.start({"HOME": str(home), "XDG_CONFIG_HOME": str(home / ".config"),
                "XDG_DATA_HOME": str(home / ".local/share"), "XDG_STATE_HOME": str(home / ".local/state"),
                "LANG": "C.UTF-8"})
    relay = CountingRelay(sshd.port)
    terminal = TmuxTerminal(workdir / "tmux.sock", width, height)
    number = quick_number("evac-l4", config)
    results: dict[str, Traffic] = {}
    try:
        session = Session(sshd, relay, terminal, compression)
        terminal.wait_for("検索/番号")
        relay.settle()
        results["connect → home (first screen)"] = Traffic(*relay.counts())
        results["idle on home, per second"] = session.idle(5)
        session.measure(lambda: terminal.type_text(number[0]))
        results[f"home → compose (number {number})"] = session.measure(
            lambda: terminal.type_text(number[1]), expect="作成:")
        results["compose: per ASCII character"] = session.per_key(("abcdefghij" * chars)[:chars])
        session.measure(lambda: terminal.send_keys("C-u"))  # empty the field again (Input: delete to the left)
        results["compose: per Japanese character"] = session.per_key(("土砂災害の危険が高まったため" * chars)[:chars])
        terminal.send_keys("Tab")
        terminal.wait_for("候補:")  # the area field's help: the focus has moved
        session.measure(lambda: terminal.type_text("本郷地区"))  # the other required field
        results["compose → review (F2)"] = session.measure(lambda: terminal.send_keys("F2"), expect="確認:")
        results["review → compose (Esc)"] = session.measure(lambda: terminal.send_keys("Escape"), expect="作成:")
    finally:
        terminal.kill()
        relay.close()
        sshd.stop()
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chars", type=int, default=20, help="characters typed per measurement")
    parser.add_argument("--width", type=int, default=80)
    parser.add_argument("--height", type=int, default=24)
    parser.add_argument("--slow-link", action="store_true", help="start dutypost with --slow-link")
    args = parser.parse_args()

    from dutypost.practice import PracticeServer

    with tempfile.TemporaryDirectory(prefix="dp-ssh-bytes-") as tmp:
        tmp_path = Path(tmp)
        client_key = make_key(tmp_path / "id_ed25519", "dutypost-bench")
        practice = PracticeServer()
        url = practice.start()
        try:
            table = {
                compression: run_session(tmp_path / f"compression-{compression}", client_key, url,
                                         compression=compression, chars=args.chars, width=args.width,
                                         height=args.height, slow_link=args.slow_link)
                for compression in (False, True)
            }
        finally:
            practice.stop()

    mode = " --slow-link" if args.slow_link else ""
    print(f"dutypost{mode} over SSH, {args.width}x{args.height}, TERM=xterm-256color: bytes on the wire")
    print("(down = server to terminal, the screen; up = terminal to server, the keys)")
    print(f"{'':38} {'Compression=no':>17} {'Compression=yes':>17}")
    print(f"{'':38} {'down':>8} {'up':>8} {'down':>8} {'up':>8}")
    for label in table[False]:
        off, on = table[False][label], table[True][label]
        print(f"{label:38} {off.down:>8} {off.up:>8} {on.down:>8} {on.up:>8}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
