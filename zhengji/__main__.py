"""Allows ``python -m zhengji`` where the console script is not on PATH."""

from zhengji.cli import main

main()
