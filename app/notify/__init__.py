"""Notifications for every feature: an in-app inbox and an outbox of short messages to phones.

``models.py`` (Notification, OutboxMessage), ``kinds.py`` (the one table of kinds and their
words: a notification is rendered when it is read, in the reader's language), ``services.py``
(notify, unread_count, inbox, mark_read), ``outbox.py`` (deliver_outbox and the pluggable sender),
``views.py`` (the /inbox page and the unread count in the nav). Features import this package; it
imports only auth, audit and core.
"""
