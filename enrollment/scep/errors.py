"""Exceptions raised by the SCEP library.

Two kinds matter to a server:

* :class:`MalformedMessage`: the input cannot be answered with a CertRep (no trustworthy transactionID,
  nonce or signer certificate). Answer HTTP 400 with the exception text.
* :class:`ScepFailure`: answer a signed CertRep with pkiStatus FAILURE and ``fail_info`` (and ``text`` as
  failInfoText).
"""

from .constants import FailInfo

__all__ = ["MalformedMessage", "MessageTooLarge", "ScepClientError", "ScepError", "ScepFailure"]


class ScepError(Exception):
    """Base class of every error this package raises for bad input or a bad peer."""


class MalformedMessage(ScepError):
    """The message cannot be parsed far enough to answer it with a CertRep (send HTTP 400)."""


class MessageTooLarge(MalformedMessage):
    """The message is larger than the configured limit (a server may send HTTP 413)."""

    def __init__(self, size: int, limit: int) -> None:
        super().__init__(f"message is {size} bytes, more than the limit of {limit} bytes")
        self.size = size
        self.limit = limit

    def __reduce__(self) -> tuple[type["MessageTooLarge"], tuple[int, int]]:
        return (type(self), (self.size, self.limit))


class ScepFailure(ScepError):
    """A protocol-level failure: answer with a CertRep FAILURE carrying ``fail_info`` and ``text``."""

    def __init__(self, fail_info: FailInfo, text: str) -> None:
        super().__init__(f"{fail_info.rfc_name}: {text}")
        self.fail_info = fail_info
        self.text = text

    def __reduce__(self) -> tuple[type["ScepFailure"], tuple[FailInfo, str]]:
        return (type(self), (self.fail_info, self.text))


class ScepClientError(ScepError):
    """The SCEP server could not be reached or answered with something other than SCEP (client side)."""
