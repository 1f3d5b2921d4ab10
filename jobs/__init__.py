"""Job specs, the job runner, deployment and the `rdg` CLI."""
