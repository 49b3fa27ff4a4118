"""The HTTP API's request and response types, shared by the gateway and any Python client.

Importing these never imports a service: a client can ``from runwright_proto.api.jobs import
JobView`` and decode the gateway's answers with ``msgspec.json.decode(body, type=JobView)``.
The gateway's OpenAPI document is generated from these same types.
"""
