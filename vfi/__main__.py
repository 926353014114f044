import sys

from vfi.cli import main

sys.exit(main())
