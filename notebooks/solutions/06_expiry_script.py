from session_tutorial import SessionManager

with SessionManager(tutorial.tenant, tutorial.store, clock=tutorial.clock) as mine:
    mine.restore()
    credentials = mine.credentials()
    left = credentials.expires_in(tutorial.clock())
    print(f"{mine.user['email']}: the access token has about {round(left / 60)} minutes left")
