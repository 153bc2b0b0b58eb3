"""Portal: the server-rendered web front in Bahasa Indonesia; calls the services' HTTP APIs."""
