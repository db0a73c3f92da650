"""`python -m loaders.synthetic --households N --seed S --out DIR`."""

import sys

from loaders.synthetic.generate import main

sys.exit(main())
