"""How-to scenarios: each file tells one story of using the API, and checks that the target lets it happen."""
