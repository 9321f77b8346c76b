"""Identity and access: staff users, role grants, bearer tokens, web sessions."""
