"""Identity service: accounts by phone, one-time-code sign-in, grants of roles per city, tokens only it signs."""
