"""A tiny package the demo installs."""

import sys


def main() -> None:
    print(f"hello from hello_fastinst, running on {sys.executable}")
