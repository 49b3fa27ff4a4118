from runwright_common.lifecycle import run

from runwright_gateway.server import main

run(main)
