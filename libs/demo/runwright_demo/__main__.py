"""Serve the demo app: ``python -m runwright_demo --host 127.0.0.1 --port 8090``."""

import argparse

import uvicorn

from runwright_demo.app import create_app


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m runwright_demo",
        description="Serve Acme Back Office, the demo app the example runbooks automate.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="interface to bind (127.0.0.1)")
    parser.add_argument("--port", type=int, default=8090, help="TCP port to listen on (8090)")
    parser.add_argument("--log-level", default="info", help="uvicorn log level (info)")
    args = parser.parse_args(argv)
    uvicorn.run(create_app(), host=args.host, port=args.port, log_level=args.log_level)


if __name__ == "__main__":
    main()
