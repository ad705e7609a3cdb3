"""Paying the municipality's fee (leges) with iDEAL, in the call or right after booking.

``money`` parses and shows euro amounts (exact cents); ``states`` is the payment's state machine;
``provider`` is the small interface a payment service provider sits behind, ``mollie`` its one
implementation (the maintained ``mollie-api-python`` client); ``requests`` asks, refreshes, retries
and refunds payments; ``receipts`` queues the receipt e-mail; ``reconcile`` is the worker loop that
asks the provider about payments still open. ``dev_psp`` is the development stand-in for Mollie's
API (docs/adr/0015-payments.md).
"""
