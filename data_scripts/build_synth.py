"""Build MotionLab-Synth: ``python data_scripts/build_synth.py --profile full --out data/synth/full``.

A thin wrapper over ``motionlab data synth`` (same options: --profile --out --seed --motions --no-mirror
--force).
"""

from __future__ import annotations

import sys

from motionlab.cli import main

if __name__ == "__main__":
    sys.exit(main(["data", "synth", *sys.argv[1:]]))
