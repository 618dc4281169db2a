"""session-tutorial: keep a user signed in, the way Auth0's SDKs do, in Python."""

from __future__ import annotations
