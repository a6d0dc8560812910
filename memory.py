"""How much memory this machine can give nnlab now.

The bound for reads that no file size caps: a device such as /dev/zero, a
pipe, stdin, or a checkpoint whose zip directory declares gigabytes. Reading
until memory runs out and then blaming the model's size helps nobody, so
readers compare what they are about to take with this first. Standard
library only, at the root of the package: nn/checkpoint.py and
nn/restore.py use it as well as data/text.py.
"""

import os

# A container's limit, when there is one (cgroup v2); MemAvailable sees the host.
_CGROUP_MAX = "/sys/fs/cgroup/memory.max"
_CGROUP_USED = "/sys/fs/cgroup/memory.current"


def _read_number(path):
    try:
        with open(path, "rb") as f:
            return int(f.read(64).split()[0])
    except (OSError, ValueError, IndexError):
        return None  # absent, "max", or unreadable: no limit known from here


def _meminfo_available():
    try:
        with open("/proc/meminfo", "rb") as f:
            for line in f:
                if line.startswith(b"MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:  # elsewhere: free physical pages, an underestimate (no page cache)
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None


def available_memory():
    """Bytes of memory available to this process now, or None when unknown."""
    have = _meminfo_available()
    limit, used = _read_number(_CGROUP_MAX), _read_number(_CGROUP_USED)
    if limit is not None and used is not None:
        room = max(limit - used, 0)
        have = room if have is None else min(have, room)
    return have


def size_text(n):
    """1536 -> "1.5 KB"; sizes in messages, in powers of 1024."""
    for unit in ("bytes", "KB", "MB", "GB", "TB"):
        if n < 1024 or unit == "TB":
            if unit == "TB" and n >= 10_000:
                # --embed 10**29 needed "68394001573324201984.0 TB".
                return f"{n:.3g} TB"
            return f"{n:,} bytes" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1024
