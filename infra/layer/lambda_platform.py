"""What the functions run on: Lambda's Python runtime and the two CPU architectures it offers.

One home for these names, so the functions, the layer, its lock files and the config validation
can never name different platforms.
"""
from __future__ import annotations

__all__ = [
    "LAMBDA_RUNTIME", "PYTHON_VERSION", "PYTHON_TAG", "ARCHITECTURES", "DEFAULT_ARCHITECTURE", "PIP_PLATFORMS",
    "pip_platform",
]

# python3.13 runs on Amazon Linux 2023; python3.11 and older sit on Amazon Linux 2, deprecated by AWS.
# It is also the project's own Python (the venv, the tests, CI), so what is tested is what runs.
LAMBDA_RUNTIME = "python3.13"
PYTHON_VERSION = "3.13"
PYTHON_TAG = "cp313"

# Lambda's values for a function's (and a layer's) architecture. arm64 (Graviton) is the default:
# the same work costs about 20 % less per GB-second than on x86_64.
ARCHITECTURES = ("arm64", "x86_64")
DEFAULT_ARCHITECTURE = "arm64"

# The wheel platform pip resolves for each architecture. manylinux2014 (glibc 2.17) is what AWS documents
# for layers; Amazon Linux 2023's glibc 2.34 runs every wheel of that tag.
PIP_PLATFORMS = {"arm64": "manylinux2014_aarch64", "x86_64": "manylinux2014_x86_64"}


def pip_platform(architecture: str) -> str:
    """The ``pip --platform`` tag for a Lambda architecture.

    Parameters
    ----------
    architecture
        ``arm64`` or ``x86_64``.

    Returns
    -------
    str
        ``manylinux2014_aarch64`` or ``manylinux2014_x86_64``.

    Raises
    ------
    ValueError
        For any other architecture.
    """
    try:
        return PIP_PLATFORMS[architecture]
    except KeyError:
        raise ValueError(f"unknown Lambda architecture {architecture!r} (known: {', '.join(ARCHITECTURES)})") from None
