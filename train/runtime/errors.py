"""The package's exception types.

Every failure caused by the user's input or environment is a ``UserError``: the command-line
tools print its message as one line on stderr and exit with code 2. Anything else is a bug
and keeps its traceback.
"""


class UserError(Exception):
    """Input or environment that cannot be used as it is; the message says what to fix."""


class DataError(UserError, ValueError):
    """Labeled data that cannot be used as it is; the message says where and what to fix."""


class ConfigError(UserError, ValueError):
    """A config that cannot train; the message names the setting to change."""


class TrackingError(UserError, RuntimeError):
    """The tracking store cannot be reached or used."""


class ModelFileError(UserError, ValueError):
    """A model folder that is missing, altered, malformed, or of a format this version cannot read."""


class UnsupportedModelError(ConfigError):
    """A pipeline part the array export cannot represent exactly."""
