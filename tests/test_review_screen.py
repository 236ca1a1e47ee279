"""theme-review through its real terminal screen, under tmux: keys in, screen and files out."""

import os
import re
import shutil
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from hydra.utils import instantiate

from conftest import ROOT, THEMES
from train.data.corpus import read_records
from train.training.config import compose_config

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(shutil.which("tmux") is None, reason="needs tmux")]

FEED = ROOT / "docs" / "examples" / "feed.txt"
REVIEW = Path(sys.executable).with_name("theme-review")


class Terminal:
    """One tmux session of 80x24 running ``command``."""

    def __init__(self, command: str):
        self.name = f"review-{uuid.uuid4().hex[:8]}"
        subprocess.run(["tmux", "new-session", "-d", "-s", self.name, "-x", "80", "-y", "24",
                        f"{command}; echo EXITED $?; sleep 600"], check=True)

    def screen(self) -> str:
        return subprocess.run(["tmux", "capture-pane", "-p", "-t", self.name], capture_output=True, text=True,
                              check=True).stdout

    def wait_for(self, pattern: str, timeout: float = 120) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            screen = self.screen()
            if re.search(pattern, screen):
                return screen
            time.sleep(0.2)
        raise AssertionError(f"no {pattern!r} on the screen:\n{self.screen()}")

    def keys(self, *keys: str) -> None:
        for key in keys:
            subprocess.run(["tmux", "send-keys", "-t", self.name, key], check=True)
            time.sleep(0.3)  # each key is handled before the next, as a person types

    def review_pid(self) -> int:
        shell = subprocess.run(["tmux", "list-panes", "-t", self.name, "-F", "#{pane_pid}"], capture_output=True,
                               text=True, check=True).stdout.split()[0]
        children = subprocess.run(["pgrep", "-P", shell], capture_output=True, text=True).stdout.split()
        return int(children[0])

    def close(self) -> None:
        subprocess.run(["tmux", "kill-session", "-t", self.name], capture_output=True)


@pytest.fixture
def data_dir(tmp_path):
    """A copy of the bundled data, so that reviewed.jsonl is written under tmp_path."""
    data = tmp_path / "data"
    shutil.copytree(ROOT / "data", data, ignore=shutil.ignore_patterns("reviewed*"))
    return data


def start(trained, data_dir) -> Terminal:
    env = "MLFLOW_DISABLE_TELEMETRY=true"
    return Terminal(f"cd {ROOT} && {env} {REVIEW} {FEED} --model {trained.export_dir} paths.data_dir={data_dir}")


def marked(screen: str) -> list[str]:
    return sorted(re.findall(r"^\[x\] \d (\w+)", screen, re.M))


def shown_sentence(screen: str) -> str:
    lines = screen.splitlines()
    text = []
    for line in lines[2:]:
        if line.startswith("  ("):
            break
        text.append(line)
    return " ".join(text)


def test_a_session_saves_what_the_keys_say_and_a_kill_loses_nothing_decided(trained, data_dir):
    reviewed = data_dir / "reviewed.jsonl"
    terminal = start(trained, data_dir)
    try:
        first = terminal.wait_for(r"theme-review  1 of 13  saved 0")
        assert "enter save  1-4 toggle  0 no theme  s skip  u undo  q quit" in first
        assert all(len(line) <= 80 for line in first.splitlines()) and len(first.splitlines()) <= 24
        expected = sorted(set(marked(first)) ^ {"aviation"})
        terminal.keys("1")
        assert marked(terminal.wait_for(r"\[.\] 1 aviation")) == expected
        terminal.keys("Enter")
        second = terminal.wait_for(r"2 of 13  saved 1")
        terminal.keys("s")
        third = terminal.wait_for(r"3 of 13  saved 1")
        terminal.keys("0", "u")
        assert shown_sentence(terminal.wait_for(r"undone")) == shown_sentence(third)
        terminal.keys("0", "q")
        terminal.wait_for(r"EXITED 0")
    finally:
        terminal.close()

    rows = read_records([reviewed], THEMES, keep=("input_file", "input_line", "model", "reviewed_at"))
    assert [(r["text"], r["labels"]) for r in rows] == [(shown_sentence(first), expected), (shown_sentence(third), [])]
    assert all(r["source"] == "reviewed" and r["input_file"] == str(FEED) and r["input_line"] > 0 for r in rows)
    skipped = (data_dir / "reviewed.skipped").read_text().splitlines()
    assert len(skipped) == 1 and shown_sentence(second) in FEED.read_text().replace("\n", " ")

    # The next training uses the rows (training split only).
    corpus = instantiate(compose_config([f"paths.data_dir={data_dir}"]).data)
    assert corpus.train_only_rows == 2 and {r["text"] for r in rows} <= set(corpus.splits["train"]["text"])

    # Starting again resumes after what was decided or skipped; a SIGKILL loses nothing saved.
    terminal = start(trained, data_dir)
    try:
        terminal.wait_for(r"1 of 10  saved 2")
        terminal.keys("Enter", "0")
        terminal.wait_for(r"3 of 10  saved 4")
        os.kill(terminal.review_pid(), signal.SIGKILL)
        terminal.wait_for(r"EXITED 137")
    finally:
        terminal.close()
    assert len(read_records([reviewed], THEMES)) == 4
    terminal = start(trained, data_dir)
    try:
        terminal.wait_for(r"1 of 8  saved 4")
        terminal.keys("q")
        terminal.wait_for(r"EXITED 0")
    finally:
        terminal.close()
