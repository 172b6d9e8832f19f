"""`python -m archcalc.ops`: write archcalc/ops/index.py, the table of which module registers which kind."""

import os

from archcalc.ops import __path__, index_text

path = os.path.join(__path__[0], "index.py")
with open(path, "w", encoding="utf-8") as out:
    out.write(index_text())
print(f"wrote {path}")
