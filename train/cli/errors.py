"""The error contract of every command: a user's mistake is one line on stderr and exit code 2."""

from __future__ import annotations

import sys
from contextlib import contextmanager

from train.runtime.errors import UserError


@contextmanager
def user_errors(prog: str, debug: bool = False):
    """Turn a ``UserError`` or an operating-system error (missing file, full disk, no permission)
    into ``prog: message`` and exit 2; ``debug`` keeps the traceback."""
    try:
        yield
    except (UserError, OSError) as err:
        if debug:
            raise
        if isinstance(err, OSError) and not isinstance(err, UserError):
            where = f" ({err.filename})" if err.filename else ""
            message = f"{err.strerror or err}{where}; free space or fix permissions and run again"
        else:
            message = str(err).splitlines()[0] if str(err) else type(err).__name__
        print(f"{prog}: {message}", file=sys.stderr)
        sys.exit(2)
