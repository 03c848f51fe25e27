"""Standalone check scripts (Python 3.8+, one file each) that the generator also imports."""
