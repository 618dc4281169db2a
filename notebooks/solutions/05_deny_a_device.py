second = DeviceLoginWidget(session, clock=tutorial.clock)
second.begin()
tutorial.deny_device_login(second.user_code)  # signed in on the page, then "Deny"
second.poll_once()
print(second)
