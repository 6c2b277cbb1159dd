import sys

from mujo_edge.cli import main

sys.exit(main())
