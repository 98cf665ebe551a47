"""`python -m videomnist_gpu` is the `videomnist` command."""
import sys

from videomnist_gpu.cli import main

sys.exit(main())
