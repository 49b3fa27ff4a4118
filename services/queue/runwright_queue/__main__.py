from runwright_common.lifecycle import run

from runwright_queue.service import main

run(main)
