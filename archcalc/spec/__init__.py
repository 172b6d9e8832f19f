"""Reading specs: YAML with locations, safe expressions, typed fields, graph building."""
