from runwright_common.lifecycle import run

from runwright_scheduler.service import main

run(main)
