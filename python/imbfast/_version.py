"""The one place imbfast's version is written.

pyproject.toml reads it (scikit-build-core's regex metadata provider), CMake
gets it from the build backend and compiles it into ``imbfast._core``.
"""

__version__ = "0.1.0"
