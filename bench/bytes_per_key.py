"""Bytes written to the terminal per typed character in compose, and when idle (通信量).

Runs ``dutypost --demo`` under a real pseudo-terminal of 80x24 and counts every byte the
app writes (what an SSH link would carry, before compression). Opens 警戒レベル4 避難指示
(evac-l4) and types into its 理由 field:

- a burst: characters 60 ms apart (fast typing, or an IME committing a word);
- paced: characters 500 ms apart (slower than the preview's pause, so every character
  also redraws the preview — the worst case);
- IME phrases: a Japanese input method composes locally and commits a converted phrase
  at once (大雨で / 土砂災害の / ...), one second apart;
- idle: nothing typed for 10 seconds, clear of a minute boundary;
- the clock's redraw at the turn of a minute (the only output of an idle screen).

    .venv/bin/python bench/bytes_per_key.py [--chars 20]

Targets (issue 4): at most 200 B per typed character, 0 B/s idle.
"""

from __future__ import annotations

import argparse
import fcntl
import os
import select
import struct
import subprocess
import sys
import tempfile
import termios
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DUTYPOST = REPO / ".venv" / "bin" / "dutypost"
QUIET_SECONDS = 0.8  # nothing written for this long: the screen has settled


class PtySession:
    """A program on a pseudo-terminal; counts the bytes it writes (画面への出力)."""

    def __init__(self, argv: list[str], *, width: int = 80, height: int = 24, env: dict | None = None) -> None:
        self.master, slave = os.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", height, width, 0, 0))
        environment = {**os.environ, "TERM": "xterm-256color", "LANG": "C.UTF-8", **(env or {})}
        self.started = time.perf_counter()
        self.process = subprocess.Popen(argv, stdin=slave, stdout=slave, stderr=slave, env=environment,
                                        start_new_session=True, cwd=REPO)
        os.close(slave)
        self.total = 0
        self.output = bytearray()

    def read(self, seconds: float) -> int:
        """Read for ``seconds``; returns the bytes read."""
        got = 0
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            ready, _, _ = select.select([self.master], [], [], left)
            if not ready:
                break
            try:
                chunk = os.read(self.master, 65536)
            except OSError:
                break
            got += len(chunk)
            self.output += chunk
        self.total += got
        return got

    def settle(self, timeout: float = 15) -> int:
        """Read until nothing has been written for ``QUIET_SECONDS``; returns the bytes read."""
        got = 0
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            ready, _, _ = select.select([self.master], [], [], QUIET_SECONDS)
            if not ready:
                break
            got += self.read(0.05)
        return got

    def wait_for(self, marker: str, timeout: float = 30) -> float:
        """Read until ``marker`` has been written; returns seconds since the start."""
        wanted = marker.encode()
        deadline = time.monotonic() + timeout
        while wanted not in self.output:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"{marker!r} did not appear")
            ready, _, _ = select.select([self.master], [], [], left)
            if ready:
                chunk = os.read(self.master, 65536)
                self.total += len(chunk)
                self.output += chunk
        return time.perf_counter() - self.started

    def send(self, text: str) -> None:
        os.write(self.master, text.encode())

    def close(self) -> None:
        try:
            os.killpg(self.process.pid, 15)
        except ProcessLookupError:
            pass
        self.process.wait(timeout=10)
        os.close(self.master)


def demo_session(home: str) -> PtySession:
    return PtySession([str(DUTYPOST), "--demo"], env={"HOME": home, "XDG_DATA_HOME": f"{home}/data"})


PHRASES = ["大雨で", "土砂災害の", "危険が", "高まったため", "本郷地区と", "吉原地区に"]


def type_phrases(session: PtySession, phrases: list[str], gap: float) -> int:
    """Type as a Japanese IME sends text: a converted phrase committed at once."""
    got = 0
    for phrase in phrases:
        session.send(phrase)
        got += session.read(gap)
    return got + session.settle()


def quick_number(template_id: str) -> str:
    """The two-digit number the home screen shows beside ``template_id`` in the demo town."""
    sys.path.insert(0, str(REPO))
    from dutypost.core.config import EXAMPLE_CONFIG
    from dutypost.core.config_loader import load_settings
    from dutypost.core.templates import bundled_dirs, load_templates

    ids = [t.id for t in load_templates(bundled_dirs(load_settings(EXAMPLE_CONFIG))).templates]
    return f"{ids.index(template_id) + 1:02d}"


def type_paced(session: PtySession, chars: str, gap: float) -> int:
    got = 0
    for char in chars:
        session.send(char)
        got += session.read(gap)
    return got + session.settle()


def wait_clear_of_minute_boundary(span: float) -> None:
    """Start an idle window that will not cross hh:mm:00 (the clock's once-a-minute redraw)."""
    into = time.time() % 60
    if into + span > 58:
        time.sleep(60 - into + 1)


def wait_for_next_minute(session: PtySession) -> None:
    """Read (and drop) output until 2 seconds before the next hh:mm:00."""
    left = 60 - time.time() % 60
    if left > 2:
        session.read(left - 2)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chars", type=int, default=20)
    args = parser.parse_args()
    text = ("大雨で土砂災害の危険が高まったため" * 4)[: args.chars]

    with tempfile.TemporaryDirectory() as home:
        session = demo_session(home)
        try:
            session.wait_for("最近の投稿")
            session.settle()
            session.send(quick_number("evac-l4"))
            session.wait_for("プレビュー")
            session.settle()
            burst = type_paced(session, text, 0.06)
            session.send("\x15")  # Ctrl+U: empty the field again
            session.settle()
            paced = type_paced(session, text, 0.5)
            session.send("\x15")
            session.settle()
            phrases = type_phrases(session, PHRASES, 1.0)
            wait_clear_of_minute_boundary(10)
            session.settle()
            idle = session.read(10.0)
            wait_for_next_minute(session)
            tick = session.read(4.0)
        finally:
            session.close()

    n = len(text)
    print(f"dutypost compose, 80x24, {n} characters typed into 理由 (bytes the app wrote)")
    print(f"{'measure':<36}{'bytes':>10}{'per char':>12}")
    print(f"{'burst (60 ms apart)':<36}{burst:>10}{burst / n:>12.0f}")
    print(f"{'paced (500 ms apart, preview each)':<36}{paced:>10}{paced / n:>12.0f}")
    ime = sum(len(p) for p in PHRASES)
    print(f"{f'IME phrases ({ime} chars, 1 s apart)':<36}{phrases:>10}{phrases / ime:>12.0f}")
    print(f"{'idle for 10 s':<36}{idle:>10}{idle / 10:>10.1f}/s")
    print(f"{'clock redraw at hh:mm:00':<36}{tick:>10}")
    print("target: <= 200 B per character; 0 B/s idle")
    return 0


if __name__ == "__main__":
    sys.exit(main())
