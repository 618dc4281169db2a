from session_tutorial import RefreshTokenRejected, SessionError


def renew_or_explain(session):
    """Renew now, and say in plain words what happened."""
    try:
        session.renew()
    except RefreshTokenRejected:
        return "Please sign in again."
    except SessionError as exc:
        if exc.retryable:
            return "Offline — we'll try again later."
        raise
    return "Renewed."


print(renew_or_explain(tutorial.session))
print(renew_or_explain(tutorial.offline_session()))
