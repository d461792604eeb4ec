"""Turn a folder of (T, 22, 3) joint arrays plus captions into a dataset in the HumanML3D layout.

    python data_scripts/joints_to_dataset.py JOINTS_DIR OUT [--texts DIR] [--fps 30] [--mirror] [--seed 0]

JOINTS_DIR holds NAME.npy arrays (metres, y up; the first 22 joints of an SMPL/AMASS skeleton) and, unless
--texts points elsewhere, NAME.txt files with one caption per line (plain sentences are tagged with
motionlab's rule-based word/POS tagger).  The same as ``motionlab data convert``.
"""

import sys

from motionlab.cli import main

if __name__ == "__main__":
    sys.exit(main(["data", "convert", *sys.argv[1:]]))
