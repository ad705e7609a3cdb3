"""Email: rendered in the request, written to an outbox in the same transaction, sent by a worker.

- :mod:`backend.email.outbox`: :func:`enqueue` one message under an idempotency key.
- :mod:`backend.email.worker`: :class:`OutboxWorker` claims due rows and sends them over SMTP.
- :mod:`backend.email.messages`: what the citizen receives (booking confirmation).
- :mod:`backend.email.render`: Jinja2 templates, MIME assembly and the ``.ics`` invitation.
- :mod:`backend.email.dev_sink` and :mod:`backend.email.mailbox`: a local SMTP sink with a web
  mailbox at ``/dev/mailbox`` for development.
- :mod:`backend.email.lifecycle`: starts and stops the sink and the in-process worker with the app.
"""
