"""Where datasets live on disk, and their checksummed download."""

import gzip
import hashlib
import os
import shutil
import tempfile
import urllib.request
from dataclasses import dataclass
from pathlib import Path

__all__ = ["RemoteFile", "get_data_home", "fetch"]


@dataclass(frozen=True)
class RemoteFile:
    """A file a loader needs: its name, where to download it, its SHA-256.

    With `gzipped_content`, the checksum is that of the decompressed content,
    so that the same data re-compressed (as Debian packages it) also checks.
    """

    filename: str
    url: str
    sha256: str
    gzipped_content: bool = False


def get_data_home(data_home=None):
    """The folder datasets are read from (and downloaded to).

    Parameters
    ----------
    data_home : path-like, default=None
        The folder; by default the ``SKLEARN_CLASSREG_DATA`` environment
        variable, else ``~/sklearn_classreg_data``.

    Returns
    -------
    pathlib.Path
        The folder, created if missing.
    """
    if data_home is None:
        data_home = os.environ.get("SKLEARN_CLASSREG_DATA", Path.home() / "sklearn_classreg_data")
    path = Path(data_home).expanduser()
    path.mkdir(parents=True, exist_ok=True)
    return path


def _sha256(path, gzipped_content=False):
    digest = hashlib.sha256()
    with (gzip.open if gzipped_content else open)(path, "rb") as handle:
        for block in iter(lambda: handle.read(2**20), b""):
            digest.update(block)
    return digest.hexdigest()


def fetch(remote, data_home=None, *, folders=(), download=False):
    """Path of a dataset file: found locally, or downloaded and checked.

    Parameters
    ----------
    remote : RemoteFile
    data_home : path-like, default=None
        See `get_data_home`; the file may also sit in a sub-folder of it
        named after the dataset.
    folders : sequence of path-like
        Other folders to look in after `data_home` (e.g. where a system
        package puts the file).
    download : bool, default=False
        Download the file when it is not found (checked against its SHA-256).

    Returns
    -------
    pathlib.Path
    """
    home = get_data_home(data_home)
    candidates = [home / remote.filename]
    candidates += sorted(home.glob(f"*/{remote.filename}"))
    candidates += [Path(folder) / remote.filename for folder in folders]
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    if not download:
        raise FileNotFoundError(
            f"{remote.filename} was not found in {home} (or {', '.join(map(str, folders))}"
            f"{' or ' if folders else ''}its sub-folders). Put the file there, pass "
            f"data_home=<its folder>, or pass download=True to fetch it from {remote.url}."
        )
    target = home / remote.filename
    with tempfile.NamedTemporaryFile(dir=home, delete=False) as partial:
        with urllib.request.urlopen(remote.url, timeout=60) as response:
            shutil.copyfileobj(response, partial)
    checksum = _sha256(partial.name, remote.gzipped_content)
    if checksum != remote.sha256:
        os.unlink(partial.name)
        raise OSError(
            f"The download of {remote.url} has SHA-256 {checksum}, not {remote.sha256}: "
            "it was not kept."
        )
    os.replace(partial.name, target)
    return target
