"""Combined over- and under-samplers (SMOTETomek, SMOTEENN)."""

__all__: list[str] = []
