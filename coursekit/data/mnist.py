"""MNIST and Fashion-MNIST from their IDX files, checked against the published checksums.

The course's default data set is the bundled 8×8 digits (`coursekit.data.digits`); this
module is for the lectures and exercises that scale up to 28×28 images. Nothing is
downloaded behind your back: `mnist(root)` reads the four IDX files from `root` (gzipped or
not) and says which are missing and how to get them; `download(root)` fetches them for users
who are online.

Split convention (as `digits()`, fixed and unshuffled, see `MNIST_SPLIT`): train = the first
50,000 images of the official training set, val = its last 10,000, test = the official
10,000 test images. Images come back as int64 levels 0..255 (`MNIST_LEVELS = 256`), shape
(N, 1, 28, 28), on the CPU; move batches to a device in the training loop.

Checksums (`MD5`) are of the *decompressed* IDX files, so a file re-compressed by a mirror
(or by you) still checks: the bytes that matter are the ones inside the gzip wrapper.
"""
from __future__ import annotations

import gzip
import hashlib
import http.client
import os
import urllib.request
import zlib
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
import torch

from ..utils import atomic_write
from .splits import ImageSplit, Splits

__all__ = [
    "MNIST_LEVELS", "MNIST_SPLIT", "KINDS", "FILES", "MD5", "GZ_MD5", "MIRRORS",
    "read_idx", "file_md5", "mnist", "download",
]

MNIST_LEVELS = 256
"""Number of grey levels in MNIST and Fashion-MNIST (values 0..255)."""

MNIST_SPLIT = {"train": ("train", 0, 50_000), "val": ("train", 50_000, 60_000), "test": ("t10k", 0, 10_000)}
"""split → (source file prefix, start, stop): train/val cut the official training set, test is the official test set."""

KINDS = {"mnist": "MNIST", "fashion": "Fashion-MNIST"}
"""The data sets this module reads; both use the same file names and layout."""

FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "t10k": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}
"""Official file names (without `.gz`): (images, labels) for the training and the test set."""

MD5 = {
    # LeCun's raw MNIST files, decompressed; the same values are listed as the uncompressed
    # ("raw"/"extracted") MD5s next to the .gz ones in several public download scripts.
    "mnist": {
        "train-images-idx3-ubyte": "6bbc9ace898e44ae57da46a324031adb",
        "train-labels-idx1-ubyte": "a25bea736e30d166cdddb491f175f624",
        "t10k-images-idx3-ubyte": "2646ac647ad5339dbf082846283269ea",
        "t10k-labels-idx1-ubyte": "27ae3e4e09519cfbb04c329615203637",
    },
    # Zalando's Fashion-MNIST files, decompressed.
    "fashion": {
        "train-images-idx3-ubyte": "f4a8712d7a061bf5bd6d2ca38dc4d50a",
        "train-labels-idx1-ubyte": "9018921c3c673c538a1fc5bad174d6f9",
        "t10k-images-idx3-ubyte": "8181f5470baa50b63fa0f6fddb340f0a",
        "t10k-labels-idx1-ubyte": "15d484375f8d13e6eb1aabb0c3f46965",
    },
}
"""MD5 of each file's DECOMPRESSED bytes: what `mnist(check=True)` and `download` verify."""

GZ_MD5 = {
    "mnist": {
        "train-images-idx3-ubyte.gz": "f68b3c2dcbeaaa9fbdd348bbdeb94873",
        "train-labels-idx1-ubyte.gz": "d53e105ee54ea40749a09fcbcd1e9432",
        "t10k-images-idx3-ubyte.gz": "9fb629c4189551a2d022fa330f9573f3",
        "t10k-labels-idx1-ubyte.gz": "ec29112dd5afa0611ce80d1b7f02629c",
    },
    "fashion": {
        "train-images-idx3-ubyte.gz": "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
        "train-labels-idx1-ubyte.gz": "25c81989df183df01b3e8a0aad5dffbe",
        "t10k-images-idx3-ubyte.gz": "bef4ecab320f06d8554ea6380940ec79",
        "t10k-labels-idx1-ubyte.gz": "bb300cfdad3c16e7a12a480ee83cd310",
    },
}
"""MD5 of the ORIGINAL .gz wrappers (the numbers torchvision lists), for reference only: never
checked here, because a re-compressed copy of the very same data has a different .gz MD5."""

MIRRORS = {
    "mnist": ("https://ossci-datasets.s3.amazonaws.com/mnist/",  # the mirror torchvision uses
              "https://storage.googleapis.com/cvdf-datasets/mnist/",
              "http://yann.lecun.com/exdb/mnist/"),
    "fashion": ("http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
                "https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/data/fashion/"),
}
"""Base URLs tried in order by `download`; each serves `<name>.gz`."""

_GZIP_MAGIC = b"\x1f\x8b"
# IDX type code → (big-endian numpy dtype as stored in the file, torch dtype it becomes)
_IDX_DTYPES = {
    0x08: (np.dtype(">u1"), torch.uint8),
    0x09: (np.dtype(">i1"), torch.int8),
    0x0B: (np.dtype(">i2"), torch.int16),
    0x0C: (np.dtype(">i4"), torch.int32),
    0x0D: (np.dtype(">f4"), torch.float32),
    0x0E: (np.dtype(">f8"), torch.float64),
}


# --- reading IDX files -------------------------------------------------------------------

def _read_bytes(path: Path) -> bytes:
    """The file's content, gunzipped when it starts with the gzip magic bytes (not by its name)."""
    raw = path.read_bytes()
    if raw[:2] != _GZIP_MAGIC:
        return raw
    try:
        return gzip.decompress(raw)
    except (OSError, EOFError, zlib.error) as err:
        raise ValueError(f"{path}: broken gzip stream ({err}); the file is corrupt or was cut short, "
                         f"delete it and get it again") from err


def _parse_idx(buf: bytes, source: str) -> torch.Tensor:
    """IDX bytes → tensor. Header: 0x00 0x00, type code, ndim; then ndim big-endian uint32 sizes."""
    if len(buf) < 4:
        raise ValueError(f"{source}: not an IDX file: expected at least a 4-byte header, got {len(buf)} bytes")
    zero0, zero1, code, ndim = buf[0], buf[1], buf[2], buf[3]
    if zero0 != 0 or zero1 != 0 or code not in _IDX_DTYPES:
        known = ", ".join(f"0x{c:02X}" for c in _IDX_DTYPES)
        raise ValueError(f"{source}: bad IDX magic number 0x{buf[:4].hex().upper()}: expected 0x0000 followed by "
                         f"a type code in ({known}) and the number of dimensions")
    header = 4 + 4 * ndim
    if len(buf) < header:
        raise ValueError(f"{source}: truncated IDX header: expected {header} bytes for {ndim} dimensions, "
                         f"got {len(buf)}")
    shape = tuple(int(d) for d in np.frombuffer(buf, dtype=">u4", count=ndim, offset=4))
    stored, torch_dtype = _IDX_DTYPES[code]
    count = int(np.prod(shape, dtype=object)) if ndim else 1
    expected = header + count * stored.itemsize
    if len(buf) < expected:
        raise ValueError(f"{source}: truncated IDX file: expected {expected} bytes for shape {shape} of "
                         f"{stored.name}, got {len(buf)}")
    if len(buf) > expected:
        raise ValueError(f"{source}: trailing bytes after the IDX data: expected {expected} bytes for shape "
                         f"{shape}, got {len(buf)} ({len(buf) - expected} extra)")
    # one vectorised read; astype copies into native byte order, writable, as torch needs
    values = np.frombuffer(buf, dtype=stored, count=count, offset=header).astype(stored.newbyteorder("="))
    return torch.from_numpy(values.reshape(shape)).to(torch_dtype)


def read_idx(path: str | os.PathLike) -> torch.Tensor:
    """Read one IDX file (gzipped or raw, detected from its first bytes) into a CPU tensor.

    The IDX type code picks the dtype: 0x08 → uint8, 0x09 → int8, 0x0B → int16, 0x0C → int32,
    0x0D → float32, 0x0E → float64; the shape is the file's dimensions. Raises a ValueError
    naming the file for a bad magic number, a truncated file or trailing bytes.
    """
    path = Path(path)
    return _parse_idx(_read_bytes(path), str(path))


def file_md5(path: str | os.PathLike) -> str:
    """MD5 hex digest of the file's decompressed content (what the `MD5` table lists)."""
    return hashlib.md5(_read_bytes(Path(path)), usedforsecurity=False).hexdigest()


# --- finding and checking the files ------------------------------------------------------

def _check_kind(kind: str) -> None:
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {sorted(KINDS)}, got {kind!r}")


def _needed(split: str | None) -> list[str]:
    """File names (without .gz) that `split` needs."""
    if split is not None and split not in MNIST_SPLIT:
        raise ValueError(f"split must be one of {sorted(MNIST_SPLIT)} or None, got {split!r}")
    prefixes = ["train", "t10k"] if split is None else [MNIST_SPLIT[split][0]]
    return [name for prefix in prefixes for name in FILES[prefix]]


def _locate(root: Path, name: str) -> Path | None:
    """`root/name` if present, else `root/name.gz`, else None."""
    for candidate in (root / name, root / f"{name}.gz"):
        if candidate.is_file():
            return candidate
    return None


def _verify(buf: bytes, name: str, kind: str, source: str) -> None:
    expected = MD5[kind][name]
    got = hashlib.md5(buf, usedforsecurity=False).hexdigest()
    if got != expected:
        raise ValueError(f"{source}: MD5 of the decompressed {name} is {got}, expected {expected} for "
                         f"{KINDS[kind]}: the file is corrupt or not the original. Delete it and get it again "
                         f"(coursekit.data.mnist.download), or pass check=False to read it anyway.")


def _missing_message(root: Path, missing: list[str], kind: str, split: str | None) -> str:
    lines = [f"{KINDS[kind]} files missing from {root}" + ("" if root.is_dir() else " (the directory does not exist)")
             + ":"]
    lines += [f"  {name}  (or {name}.gz)" for name in missing]
    only = "" if split is None else f", split={split!r}"
    lines += [f"Put them in {root}, gzipped or not, under these names. To get them:",
              f"  - online: coursekit.data.mnist.download({str(root)!r}, kind={kind!r}{only})",
              "  - by hand:"]
    lines += [f"      {MIRRORS[kind][0]}{name}.gz" for name in missing]
    if split is None and all(name.startswith("train") for name in missing):
        lines.append("(mnist(root, split='test') needs only the t10k files.)")
    return "\n".join(lines)


def _load(root: Path, names: list[str], kind: str, split: str | None, check: bool) -> dict[str, np.ndarray]:
    paths = {name: _locate(root, name) for name in names}
    missing = [name for name, path in paths.items() if path is None]
    if missing:
        raise FileNotFoundError(_missing_message(root, missing, kind, split))
    arrays = {}
    for name, path in paths.items():
        buf = _read_bytes(path)
        if check:
            _verify(buf, name, kind, str(path))
        arrays[name] = _parse_idx(buf, str(path)).numpy()
    return arrays


def _image_split(images: np.ndarray, labels: np.ndarray, a: int, b: int, name: str) -> ImageSplit:

    x = torch.from_numpy(images[a:b]).long().unsqueeze(1)  # (N, 28, 28) → (N, 1, 28, 28)
    y = torch.from_numpy(labels[a:b]).long()
    return ImageSplit(x, y, MNIST_LEVELS, name)


def mnist(root: str | os.PathLike, split: str | None = None, kind: str = "mnist",
          check: bool = True) -> Splits | ImageSplit:
    """MNIST (or Fashion-MNIST, `kind="fashion"`) from the IDX files in directory `root`.

    `mnist(root)` returns `Splits(train, val, test)` with 50,000 / 10,000 / 10,000 images (see
    `MNIST_SPLIT`) and needs all four files; `mnist(root, "test")` returns one split and needs
    only the two t10k files. Images are int64 (N, 1, 28, 28) with values 0..255, labels int64
    (N,). Files may be gzipped or not (`name` or `name.gz`). With `check=True` every file's
    decompressed MD5 is compared with the published one (`MD5`); a mismatch is a ValueError.
    """

    _check_kind(kind)
    names = _needed(split)
    root = Path(root).expanduser()
    arrays = _load(root, names, kind, split, check)

    parts = {}
    for part, (prefix, a, b) in MNIST_SPLIT.items():
        if split is not None and part != split:
            continue
        image_name, label_name = FILES[prefix]
        images, labels = arrays[image_name], arrays[label_name]
        if images.dtype != np.uint8 or images.ndim != 3 or images.shape[1:] != (28, 28):
            raise ValueError(f"{image_name} in {root} must hold uint8 images (N, 28, 28), got "
                             f"{images.dtype} {images.shape}")
        if labels.dtype != np.uint8 or labels.shape != (images.shape[0],):
            raise ValueError(f"{label_name} in {root} must hold uint8 labels ({images.shape[0]},) to match "
                             f"{image_name}, got {labels.dtype} {labels.shape}")
        official = MNIST_SPLIT["val"][2] if prefix == "train" else MNIST_SPLIT["test"][2]
        if images.shape[0] != official:
            raise ValueError(f"{image_name} in {root} holds {images.shape[0]} images; the {KINDS[kind]} "
                             f"{'training' if prefix == 'train' else 'test'} set has {official}")
        if labels.size and labels.max() > 9:
            raise ValueError(f"{label_name} in {root} must hold labels 0..9, got a {int(labels.max())}")
        parts[part] = _image_split(images, labels, a, b, part)
    return parts[split] if split is not None else Splits(**parts)


# --- downloading (online users only) -----------------------------------------------------

def _urlopen_fetch(url: str, timeout: float = 60.0) -> bytes:
    with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 (fixed https/http mirrors)
        return response.read()


def _write_atomically(path: Path, data: bytes) -> None:
    """Write to a temporary file next to `path`, then os.replace: never a half-written `path`."""
    with atomic_write(path, suffix=".part") as f:
        f.write(data)


def _valid(path: Path, name: str, kind: str) -> bool:
    try:
        return hashlib.md5(_read_bytes(path), usedforsecurity=False).hexdigest() == MD5[kind][name]
    except ValueError:  # a broken gzip stream
        return False


def download(root: str | os.PathLike, kind: str = "mnist", split: str | None = None, *,
             mirrors: Sequence[str] | None = None, fetch: Callable[[str], bytes] | None = None,
             verbose: bool = True) -> list[Path]:
    """Fetch the IDX files into `root` (for users who are online); returns their paths.

    Tries each mirror in turn (`MIRRORS[kind]` unless `mirrors` is given) for each of the
    files `split` needs (all four for None, as in `mnist`). A download is checked (MD5 of the
    decompressed bytes) in memory before it is written, and written atomically (a temporary
    file, then os.replace), so a corrupt or interrupted download never lands on disk. Files
    already present and valid are skipped; an invalid `<name>.gz` is replaced. `fetch(url) ->
    bytes` defaults to urllib; tests pass their own.
    """
    _check_kind(kind)
    names = _needed(split)
    root = Path(root).expanduser()
    mirrors = tuple(MIRRORS[kind] if mirrors is None else mirrors)
    if not mirrors:
        raise ValueError("mirrors must name at least one base URL")
    fetch = _urlopen_fetch if fetch is None else fetch

    # an uncompressed file shadows the .gz in mnist(); we never delete files we did not write
    for name in names:
        raw = root / name
        if raw.is_file() and not _valid(raw, name, kind):
            raise ValueError(f"{raw} exists but is not the original {KINDS[kind]} file (MD5 mismatch); it would "
                             f"shadow a fresh {name}.gz: delete it and call download again")

    root.mkdir(parents=True, exist_ok=True)
    paths = []
    for name in names:
        present = _locate(root, name)
        if present is not None and _valid(present, name, kind):
            if verbose:
                print(f"{present}: present and valid, skipped")
            paths.append(present)
            continue
        failures = []
        for base in mirrors:
            url = base.rstrip("/") + "/" + name + ".gz"
            try:
                data = fetch(url)
            except (OSError, http.client.HTTPException) as err:  # URLError, timeouts, cut connections
                failures.append(f"{url}: {type(err).__name__}: {err}")
                continue
            try:
                buf = gzip.decompress(data) if data[:2] == _GZIP_MAGIC else data
            except (OSError, EOFError, zlib.error) as err:
                failures.append(f"{url}: broken gzip stream ({err})")
                continue
            got = hashlib.md5(buf, usedforsecurity=False).hexdigest()
            if got != MD5[kind][name]:
                failures.append(f"{url}: MD5 of the decompressed file is {got}, expected {MD5[kind][name]} "
                                f"(corrupt or not the original; not written)")
                continue
            # a mirror that served it uncompressed gets written uncompressed: mnist() reads either
            target = root / (f"{name}.gz" if data[:2] == _GZIP_MAGIC else name)
            _write_atomically(target, data)
            if verbose:
                print(f"{url} -> {target}: MD5 ok")
            paths.append(target)
            break
        else:
            raise RuntimeError(f"could not download {name}.gz for {KINDS[kind]}; tried:\n  " + "\n  ".join(failures)
                               + f"\nDownload it by hand and put it in {root}.")
    return paths
