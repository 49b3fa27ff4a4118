from runwright_common.lifecycle import run

from runwright_artifact.service import main

run(main)
