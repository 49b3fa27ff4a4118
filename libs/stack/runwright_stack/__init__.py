"""The whole system on one machine: nats-server, PostgreSQL, the services, the demo app."""
