"""Validate a HumanML3D / KIT-ML layout folder and print its statistics.

    python data_scripts/check_dataset.py /path/to/HumanML3D [--skeleton t2m|kit|auto]

The same as ``motionlab data check DIR``; exits with 1 when the folder has errors.
"""

import sys

from motionlab.cli import main

if __name__ == "__main__":
    sys.exit(main(["data", "check", *sys.argv[1:]]))
