"""The test helpers themselves, where a test's honesty depends on them."""

from __future__ import annotations

import signal
import subprocess
import sys

from support import interruptible

WAIT = "import sys, time; print('ready', flush=True); time.sleep(60)"


def test_interruptible_processes_obey_sigint_even_when_the_launcher_ignores_it():
    """As under `nohup make test &`: the ignored SIGINT is inherited unless reset."""
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        proc = subprocess.Popen(
            [sys.executable, "-c", WAIT],
            stdout=subprocess.PIPE,
            text=True,
            preexec_fn=interruptible,
        )
    finally:
        signal.signal(signal.SIGINT, previous)
    try:
        assert proc.stdout.readline() == "ready\n"
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=30) != 0, "the interrupt was ignored"
    finally:
        proc.kill()
        proc.wait()
