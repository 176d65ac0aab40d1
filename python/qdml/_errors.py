"""The exceptions of qdml: one class per qdml_status of the C library (include/qdml/qdml.h), each
carrying the library's message."""


class Error(Exception):
    """A qdml call failed; the message is the library's (what failed and what to do)."""


class InvalidArgument(Error, ValueError):
    """An argument is out of range, of the wrong shape or dtype, not finite, ..."""


class OutOfMemory(Error, MemoryError):
    """An allocation failed (nothing was leaked)."""


class Overflow(Error, OverflowError):
    """A size computation (points x batch x bytes) overflows."""


class BackendError(Error, RuntimeError):
    """FFTW, CUDA or cuFFT reported a failure."""


class Unavailable(Error, RuntimeError):
    """The backend asked for is not compiled in or has no device."""


class Diverged(Error, ArithmeticError):
    """A value turned non-finite; the members hold their last good state."""


class NotReady(Error, RuntimeError):
    """A call came before what it needs (a run before a potential was set)."""


class InternalError(Error, RuntimeError):
    """A bug in qdml: please report it with the message."""


class FileError(Error, OSError):
    """A file could not be opened, read, written, synced or renamed."""


_BY_STATUS = {1: InvalidArgument, 2: OutOfMemory, 3: Overflow, 4: BackendError, 5: Unavailable, 6: Diverged,
              7: NotReady, 8: InternalError, 9: FileError}


def from_status(status: int) -> type:
    """The exception class of a qdml_status value."""
    return _BY_STATUS.get(status, Error)
