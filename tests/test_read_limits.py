"""Bounded reads (issue 12): text is read in pieces up to what the machine
can train on, and the memory available takes a container's limit into
account. The commands' side of it (/dev/zero, an endless stdin, a
checkpoint declaring more than memory) is in tests/test_hostile_inputs.py."""

import io
import sys

import pytest

from nnlab import memory
from nnlab.data.text import CHUNK, TextError, read_bytes, text_limit


def test_a_file_at_the_limit_is_read_and_one_byte_more_is_refused(tmp_path):
    path = tmp_path / "t.txt"
    path.write_bytes(b"x" * 1000)
    assert read_bytes(str(path), limit=1000) == b"x" * 1000
    with pytest.raises(TextError, match="more than 999 bytes"):
        read_bytes(str(path), limit=999)


def test_stdin_is_read_in_pieces_up_to_the_limit(monkeypatch):
    data = b"ab" * (3 * CHUNK // 2)  # three pieces
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data)))
    assert read_bytes("-", limit=len(data)) == data
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data)))
    with pytest.raises(TextError, match="stdin holds more than"):
        read_bytes("-", limit=len(data) - 1)


def test_closed_stdin_is_one_line(monkeypatch):
    monkeypatch.setattr(sys, "stdin", None)
    with pytest.raises(TextError, match="stdin is closed"):
        read_bytes("-")


def test_the_text_limit_follows_the_memory_available(monkeypatch):
    monkeypatch.setattr(memory, "available_memory", lambda: 240 * CHUNK)
    limit, why = text_limit()
    assert limit == 10 * CHUNK and "240.0 MB" in why
    monkeypatch.setattr(memory, "available_memory", lambda: None)  # unknown: the fixed cap
    assert text_limit()[1] == "the most nnlab reads"


def test_available_memory_takes_a_containers_limit(tmp_path, monkeypatch):
    (tmp_path / "max").write_text("1073741824\n")
    (tmp_path / "current").write_text("268435456\n")
    monkeypatch.setattr(memory, "_CGROUP_MAX", str(tmp_path / "max"))
    monkeypatch.setattr(memory, "_CGROUP_USED", str(tmp_path / "current"))
    monkeypatch.setattr(memory, "_meminfo_available", lambda: 64 << 30)
    assert memory.available_memory() == 768 << 20
    (tmp_path / "max").write_text("max\n")  # no limit set
    assert memory.available_memory() == 64 << 30
