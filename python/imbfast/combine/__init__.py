"""Combined over- and under-samplers (SMOTETomek, SMOTEENN)."""

from imbfast.combine._combine import SMOTEENN, SMOTETomek

__all__ = ["SMOTEENN", "SMOTETomek"]
