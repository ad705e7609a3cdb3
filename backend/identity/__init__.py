"""Who someone is: DigiD for citizens (through an OIDC broker) and OIDC sign-in for officials.

``relying_party`` talks to any standards-compliant OpenID provider; ``dev_provider`` is the built-in
development provider; ``sessions`` keeps server-side sessions; ``citizen`` and ``official`` are the
two sign-in flows built on them.
"""
