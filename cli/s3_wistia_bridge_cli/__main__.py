"""`python -m s3_wistia_bridge_cli`: the same as the `s3-wistia-bridge` command."""

import sys

from .cli import main

sys.exit(main())
