"""``python -m archcalc``: the same command as the ``archcalc`` script."""

from archcalc.cli import main

main()
