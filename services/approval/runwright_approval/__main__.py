from runwright_common.lifecycle import run

from runwright_approval.service import main

run(main)
