"""The egress policy: where the browser of a job may connect, enforced by a local proxy."""
