"""Email transport (SMTP, standard-library smtplib in worker threads), wired in with :func:`attach_email`.

It only sends: the outbox's rows on platform ``email`` (alert emails of ``… by email`` escalation
steps, confirmation codes). See :mod:`c2p_bot.transports.email.transport` for what a failure
becomes, and c2p_bot.core.mail for how a row carries subject and body.

Usage (the composition root)::

    transport = attach_email(runtime, config.email)
    await transport.start()
    ...
    await transport.stop()
"""

from c2p_bot.transports.email.transport import EMAIL_PACING, EmailTransport, attach_email

__all__ = ["EMAIL_PACING", "EmailTransport", "attach_email"]
