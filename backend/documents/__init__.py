"""Documents both ways in an appointment: content checks, encrypted storage, sharing and retention.

The path of one upload: :mod:`upload` reads the file from the request (in memory), :mod:`inspection`
decides on its content (:mod:`names`, :mod:`images`, :mod:`pdfs`) or raises :class:`Rejected`,
:mod:`vault` encrypts it under its own key into the :mod:`storage`, :mod:`sharing` writes the row,
the audit event and tells the live pages; :mod:`retention` deletes it when its time is up.
"""
