from runwright_common.lifecycle import run

from runwright_executor.service import main

run(main)
