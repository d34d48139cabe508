"""The command line both scripts share: one-line errors, exit codes, option types.

A user's mistake (a bad option, a missing file, a full disk) ends in one line on
stderr and exit code 2, never a traceback; Ctrl-C ends in one line and exit code 130.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable


class PipelineError(Exception):
    """A problem with the user's input or setup, reported as one line (exit code 2)."""


def warn(message: str, kind: str = "warning") -> None:
    """One line on stderr: `warning: ...`, or `note: ...` for news that is not a problem."""
    print(f"{kind}: {message}", file=sys.stderr)


class DefaultsHelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """Show each option's default in --help, except where there is none to show."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        if action.default in (None, False):
            return action.help
        return super()._get_help_string(action)


class OneLineParser(argparse.ArgumentParser):
    """argparse with defaults in --help, and a usage mistake reported in one line (exit 2)."""

    def __init__(self, description: str) -> None:
        super().__init__(description=description, formatter_class=DefaultsHelpFormatter)

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


def positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def positive_float(text: str) -> float:
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be positive, got {text}")
    return value


def port_number(text: str) -> int:
    value = int(text)
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"must be from 0 to 65535, got {value}")
    return value


def run_command(command: Callable[[argparse.Namespace], None], args: argparse.Namespace) -> int:
    """Run a script's work; a user's mistake or Ctrl-C ends in one line, not a traceback."""
    try:
        command(args)
    except PipelineError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(
            "interrupted: files are only replaced once complete, so earlier outputs are intact",
            file=sys.stderr,
        )
        return 130
    return 0


def exit_now(code: int) -> None:
    """End the process without Python's interpreter teardown.

    With TensorFlow loaded, that teardown takes most of a second and does nothing a
    finished run needs: every output file is already closed, synced and in place.
    """
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
