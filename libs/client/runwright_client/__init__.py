"""A typed Python client for the Runwright gateway's HTTP API.

Every call answers with the types of ``runwright_proto.api``; an error answer raises
:class:`ApiError` with the problem details. ``follow`` yields a job's events live until the job
ends, resuming a dropped stream where it stopped.
"""

from runwright_client.aio import AsyncRunwright
from runwright_client.errors import ApiError, ClientError, GatewayUnreachable
from runwright_client.sync import Runwright

__all__ = ["ApiError", "AsyncRunwright", "ClientError", "GatewayUnreachable", "Runwright"]
