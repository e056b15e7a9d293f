# JupyterLab's kernels for this workbook (make setup copies this file to .venv/etc/jupyter/).
# Over Unix sockets, a kernel needs no TCP port and prints no "running over TCP without encryption" warning.
# Its sockets are named after its connection file (<runtime dir>/kernel-<uuid>-ipc-<n>, 53 characters after the
# folder), and a socket's path holds at most 103 bytes on macOS, 107 on Linux: with a deeper runtime folder the
# kernel could never start, so it keeps TCP there.
import os

from jupyter_core.paths import jupyter_runtime_dir

c = get_config()  # noqa: F821 -- Jupyter's config loader provides it
c.KernelManager.transport = "ipc" if len(os.path.join(jupyter_runtime_dir(), "")) + 53 <= 100 else "tcp"
