"""A tiny package whose wheel has .data/data, .data/headers and .data/scripts."""

import os
import sys


def describe() -> str:
    share = os.path.join(sys.prefix, "share", "fastinst-data-demo", "README.txt")
    with open(share) as f:
        return f"data_demo: {f.read().strip()} (from {share})"
