"""Load generation. Locust (and gevent's monkey-patching) lives only in the load process:
the orchestrator imports `harness.services.load`, never the Locust-side modules."""
