"""Test data shared by the tests, the benchmark, the load tests and the dashboard pictures:
valid, distinct NIKs, applicants and booking bodies (`testkit.people`)."""
