"""mslesion: multiple sclerosis lesion segmentation on 3D FLAIR MRI."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("mslesion")
except PackageNotFoundError:  # running from a source tree without an install
    __version__ = "0.0.0+unknown"

__all__ = ["__version__"]
