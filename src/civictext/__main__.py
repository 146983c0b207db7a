"""``python -m civictext``."""

from .cli import main

main()
