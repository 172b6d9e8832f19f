"""How to install an optional extra, said the same way wherever one is missing.

Both forms are given because the README installs from a checkout (``pip install .``),
where ``archcalc[...]`` would fetch a released archcalc instead of adding to this one.
"""


def install_hint(extra: str) -> str:
    return f"pip install 'archcalc[{extra}]' (from a checkout: pip install '.[{extra}]')"
