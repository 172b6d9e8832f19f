"""archcalc schema: the JSON Schema of the spec format, for editors."""

from __future__ import annotations

import click

from archcalc.cli.options import emit, output_options


@click.command(
    "schema",
    epilog="""\b
Examples:
  archcalc schema -o archcalc.schema.json
\b
Then, in a spec:  # yaml-language-server: $schema=archcalc.schema.json""",
)
@output_options
def command(output, force):
    """Print the JSON Schema of the spec format (generated from the layer kinds)."""
    from archcalc.report.formats import to_json
    from archcalc.spec.schema import spec_schema

    emit(to_json(spec_schema()), output, force)
