"""The control socket: `teamd-py state`, `switch`, `events`, `reload` and `metrics`.

api.py is the seam the daemon implements, protocol.py the wire format, server.py and client.py
its two ends, render.py the human views. Nothing here imports the daemon.
"""

from teamd_py.control.api import ControlError, DaemonApi

__all__ = ["ControlError", "DaemonApi"]
