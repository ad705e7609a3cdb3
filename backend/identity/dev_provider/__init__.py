"""The development identity provider at ``/dev/idp``: a real OpenID provider (authlib's server
components) with test people instead of accounts, so the demo and the tests need nothing external.
On only in development; ``balie run`` refuses to start in production with it switched on."""
