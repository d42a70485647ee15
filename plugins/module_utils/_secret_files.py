# Copyright: wgops.fleet contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Write a file that holds a secret (a private key, a picture of a configuration with one) safely."""

from __future__ import annotations

import os
import tempfile


def write_secret_file(path: str, data: bytes, root_owned: bool = False) -> None:
    """Replace ``path`` with ``data``, never readable by others at any moment.

    The data goes to a new temporary file next to ``path`` (mkstemp: 0600, O_EXCL, a fresh name, so no
    leftover or planted file is reused or followed), is flushed to disk, owned by root when ``root_owned``
    and running as root, then renamed over ``path``. On any failure the temporary file is removed and the
    error (OSError) raised: no piece of the secret is left behind.
    """
    directory = os.path.dirname(path) or "."
    fd, tmp = tempfile.mkstemp(prefix=f".{os.path.basename(path)}.", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        if root_owned and os.geteuid() == 0:
            os.chown(tmp, 0, 0)
        os.replace(tmp, path)
    except BaseException:
        if os.path.lexists(tmp):
            os.unlink(tmp)
        raise
