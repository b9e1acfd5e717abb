"""Opening a run's report from the TUI. The app owns the terminal, so a text-mode browser
(which `webbrowser` would pick on a machine without a display) must never start in it."""

from __future__ import annotations

import os
import shlex
import subprocess
import webbrowser


def open_in_browser(url: str) -> bool:
    """Open `url` with `$BROWSER` (a command, as many tools take it) or, on a desktop, the
    default browser. False when neither is available: the caller shows the path instead."""
    command = os.environ.get("BROWSER", "").strip()
    if command:
        try:
            subprocess.Popen(
                [*shlex.split(command), url],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                start_new_session=True,  # not tied to the app's terminal or its signals
            )
        except (OSError, ValueError):
            return False
        return True
    if os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"):
        return webbrowser.open(url)
    return False
