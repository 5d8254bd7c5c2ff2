"""The `chitty-cicd` command line: `apply`, `preflight` and `update`."""
