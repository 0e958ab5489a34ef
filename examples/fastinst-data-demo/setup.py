"""data_files and headers end up in the wheel's .data directory."""

from setuptools import setup

setup(
    data_files=[("share/fastinst-data-demo", ["share/README.txt"])],
    headers=["include/data_demo.h"],
)
