"""Migration scripts, oldest first."""

__all__: list[str] = []
