import sys

from .cli import main

# Guarded: the analysis workers are started with "spawn", which imports the main module again.
if __name__ == "__main__":
    sys.exit(main())
