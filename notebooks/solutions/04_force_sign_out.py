offline.sign_out(force=True)
print(offline.last_reason)
print(tutorial.keychain_entry())
# The risk: the refresh token stays alive at the tenant until it expires or an admin revokes it.
# To reduce it, an app can note "revoke pending" and revoke as soon as the network is back.
