"""Samples every process's command line on this host every 20 ms until stopped, writing each distinct
one once to the file named by argv[1] (0600; scenario `secrets`: nothing secret may show there)."""

from __future__ import annotations

import os
import sys
import time

seen = set()
fd = os.open(sys.argv[1], os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
me = str(os.getpid())
while True:
    for pid in os.listdir("/proc"):
        if not pid.isdigit() or pid == me:
            continue
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as handle:
                line = handle.read().replace(b"\0", b" ").strip()
        except OSError:
            continue
        if line and line not in seen:
            seen.add(line)
            os.write(fd, line + b"\n")
    time.sleep(0.02)
