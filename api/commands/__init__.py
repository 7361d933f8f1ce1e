"""Groups of `treasurer` commands, each registered onto the typer app by its module's `register(app)`."""
