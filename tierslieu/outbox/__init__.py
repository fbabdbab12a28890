"""Notifications: an outbox written in the same transaction as the change it announces, and a
worker that delivers it by e-mail (SMTP) or as ``.eml`` files, retried, never twice."""

from tierslieu.outbox.store import Recipient, enqueue, recipient_of

__all__ = ["Recipient", "enqueue", "recipient_of"]
