"""Exceptions raised by the recwatch pipeline.

The pipeline raises these; the command line and the dashboard catch them at the edge
and turn them into an exit message or a notice on the page::

    RecwatchError
    ├── ConfigError            a setting is missing or invalid
    ├── CatalogLockedError     another process owns the catalog file
    ├── ProfileError           a file name does not match its naming profile
    ├── AudioError             a file cannot be decoded as audio
    │   └── UnsupportedCodecError
    └── PermissionDenied       the user's role does not allow the action
"""


class RecwatchError(Exception):
    """Base class of every error the pipeline raises on purpose.

    The message is English, for the command line and the logs. ``code`` names
    the error for the dashboard, which shows the message of that code in the
    user's language, filled in with ``values``. Without a code the dashboard
    shows the English message.
    """

    def __init__(
        self, message: str = "", *, code: str | None = None, values: dict | None = None
    ):
        super().__init__(message)
        self.code = code
        self.values = dict(values or {})


class ConfigError(RecwatchError):
    """A configuration value is missing, of the wrong type or out of range."""


class CatalogLockedError(RecwatchError):
    """The catalog file is held by another process, usually the dashboard server."""

    def __init__(self, message: str, *, path: str = "", holder: str = ""):
        super().__init__(message)
        self.path = path
        self.holder = holder


class ProfileError(RecwatchError):
    """A file name or sidecar file does not fit the recorder's naming profile."""


class AudioError(RecwatchError):
    """A file cannot be read as audio.

    ``flags`` holds catalog flags that describe the fault (for example ``empty``),
    so that the catalog row shows the kind of fault as well as the message.
    """

    def __init__(self, message: str, *, flags: tuple[str, ...] = ()):
        super().__init__(message)
        self.flags = tuple(flags)


class UnsupportedCodecError(AudioError):
    """The file is audio, but in a codec that no available decoder reads."""


class PermissionDenied(RecwatchError):
    """The user's role does not allow the requested action."""
