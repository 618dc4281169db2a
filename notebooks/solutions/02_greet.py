def greet(session):
    """A greeting for the saved user, or an invitation to sign in."""
    profile = session.restore()
    if profile is None:
        return "Please sign in."
    return f"Welcome back, {profile['name']}!"


print(greet(tutorial.next_launch()))
print(greet(first_launch))
