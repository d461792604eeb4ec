"""Error types: bad input gets a clear message naming the file, field and expected value."""


class MotionlabError(Exception):
    """Base class of the errors motionlab raises for bad input (the CLI prints these without a traceback)."""


class DatasetError(MotionlabError, ValueError):
    """A dataset folder or file is malformed: the message names the file and the fault."""


class CheckpointError(MotionlabError, ValueError):
    """A checkpoint is missing, malformed or does not match the model it is loaded into."""


class InputError(MotionlabError, ValueError):
    """A user-supplied value (prompt, array shape, option) is not acceptable."""


class DatasetWarning(UserWarning):
    """Something in a dataset was skipped or looks wrong; the message says what and how many."""
