"""`python -m socialstream` is the same as the `socialstream` console script."""

from socialstream.runtime.cli import main

main()
