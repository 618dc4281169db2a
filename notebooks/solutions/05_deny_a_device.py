import httpx

second = DeviceLoginWidget(session, clock=tutorial.clock)
second.begin()
httpx.post(
    f"{tutorial.tenant.base_url}/activate",
    data={"user_code": second.user_code, "action": "deny"},
    timeout=10,
)
second.poll_once()
print(second)
