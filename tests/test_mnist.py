"""The IDX reader and MNIST loader, on the real MNIST test set in shared/data/mnist (never
copied into the repo; copies go to tmp_path) and on small IDX files written here.

No test touches the network: `download` is driven by a fake `fetch`, and every socket
connection is refused for the whole module."""
import gzip
import hashlib
import os
import shutil
import socket
import struct
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np

import pytest
import torch

from coursekit.data import mnist as M
from coursekit.data import ImageSplit, Splits

# shared/ sits beside the repository (CI clones it there); COURSEKIT_MNIST_DIR points elsewhere
SHARED = Path(os.environ.get("COURSEKIT_MNIST_DIR", Path(__file__).resolve().parents[2] / "shared" / "data" / "mnist"))
TEST_FILES = ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")
TRAIN_FILES = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte")
# the MNIST test set's label counts, 0..9 (LeCun's distribution, as torchvision reads it)
TEST_COUNTS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]

needs_shared = pytest.mark.skipif(
    not all((SHARED / f"{n}.gz").is_file() for n in TEST_FILES),
    reason=f"the real MNIST test set (t10k-images-idx3-ubyte.gz, t10k-labels-idx1-ubyte.gz) is not in {SHARED}")


@pytest.fixture(autouse=True)
def no_network(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("a test tried to open a network connection")
    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


@pytest.fixture(scope="module")
def test_split():
    return M.mnist(SHARED, "test") if SHARED.is_dir() else None


@pytest.fixture
def raw_copy(tmp_path):
    """Decompressed copies of the two test files in tmp_path."""
    for name in TEST_FILES:
        (tmp_path / name).write_bytes(gzip.decompress((SHARED / f"{name}.gz").read_bytes()))
    return tmp_path


def write_idx(path: Path, array: np.ndarray, code: int, compress: bool = False) -> Path:
    """A small IDX writer, independent of the reader: magic, big-endian dims, big-endian data."""
    big = array.astype(array.dtype.newbyteorder(">"))
    data = bytes([0, 0, code, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape) + big.tobytes()
    path.write_bytes(gzip.compress(data) if compress else data)
    return path


# --- the real test set -------------------------------------------------------------------

@needs_shared
def test_real_test_set_shape_range_labels(test_split):
    part = test_split
    assert isinstance(part, ImageSplit) and part.name == "test"
    assert part.x.shape == (10000, 1, 28, 28) and part.y.shape == (10000,)
    assert part.x.dtype == torch.int64 and part.y.dtype == torch.int64
    assert part.x.device.type == "cpu"
    assert int(part.x.min()) == 0 and int(part.x.max()) == 255
    assert part.levels == 256 and part.dims == 784
    assert torch.bincount(part.y, minlength=10).tolist() == TEST_COUNTS
    assert int(part.y[0]) == 7
    # the images are digits: a dark border and a brighter middle, not noise or a transposed read
    mean = part.x.float().mean(0)[0]  # (28, 28)
    assert mean[:2].mean() < 1 and mean[:, :2].mean() < 1 and mean[10:18, 10:18].mean() > 60


@needs_shared
def test_published_checksums_of_the_shared_files():
    for name in TEST_FILES:
        assert M.file_md5(SHARED / f"{name}.gz") == M.MD5["mnist"][name]
    assert M.MD5["mnist"]["t10k-images-idx3-ubyte"] == "2646ac647ad5339dbf082846283269ea"
    assert M.MD5["mnist"]["t10k-labels-idx1-ubyte"] == "27ae3e4e09519cfbb04c329615203637"
    # the shared .gz wrappers were re-compressed: their own MD5 differs, the data does not
    assert hashlib.md5((SHARED / f"{TEST_FILES[0]}.gz").read_bytes()).hexdigest() \
        != M.GZ_MD5["mnist"][f"{TEST_FILES[0]}.gz"]


def test_checksum_tables_are_complete_and_distinct():
    for kind in M.KINDS:
        assert set(M.MD5[kind]) == set(TRAIN_FILES + TEST_FILES)
        assert set(M.GZ_MD5[kind]) == {f"{n}.gz" for n in TRAIN_FILES + TEST_FILES}
    values = [v for table in (M.MD5, M.GZ_MD5) for kind in table for v in table[kind].values()]
    assert len(set(values)) == 16 and all(len(v) == 32 and int(v, 16) >= 0 for v in values)


@needs_shared
def test_gz_and_decompressed_copy_give_identical_tensors(raw_copy, test_split):
    for name in TEST_FILES:
        assert torch.equal(M.read_idx(SHARED / f"{name}.gz"), M.read_idx(raw_copy / name))
    images = M.read_idx(raw_copy / TEST_FILES[0])
    assert images.dtype == torch.uint8 and images.shape == (10000, 28, 28)
    part = M.mnist(raw_copy, "test")
    assert torch.equal(part.x, test_split.x) and torch.equal(part.y, test_split.y)
    # a gzipped file without the .gz suffix is still gunzipped (detected by magic bytes)
    disguised = raw_copy / "labels-without-suffix"
    shutil.copy(SHARED / f"{TEST_FILES[1]}.gz", disguised)
    assert torch.equal(M.read_idx(disguised), test_split.y.to(torch.uint8))


@needs_shared
def test_corrupted_copy_rejected_with_md5_message_and_accepted_unchecked(raw_copy, test_split):
    path = raw_copy / TEST_FILES[0]
    data = bytearray(path.read_bytes())
    offset = 16 + 5 * 784 + 9 * 28 + 17  # image 5, row 9, column 17 (row-major, as the IDX spec says)
    data[offset] ^= 0xFF
    path.write_bytes(bytes(data))
    got = hashlib.md5(bytes(data)).hexdigest()
    with pytest.raises(ValueError) as err:
        M.mnist(raw_copy, "test")
    message = str(err.value)
    assert TEST_FILES[0] in message and "2646ac647ad5339dbf082846283269ea" in message and got in message
    assert "corrupt or not the original" in message
    part = M.mnist(raw_copy, "test", check=False)
    diff = (part.x != test_split.x).nonzero().tolist()
    assert diff == [[5, 0, 9, 17]]
    assert int(part.x[5, 0, 9, 17]) == int(test_split.x[5, 0, 9, 17]) ^ 0xFF == data[offset]


@needs_shared
def test_corrupted_gz_stream_is_a_clear_error(tmp_path):
    gz = bytearray((SHARED / f"{TEST_FILES[1]}.gz").read_bytes())
    (tmp_path / "cut.gz").write_bytes(bytes(gz[: len(gz) // 2]))
    with pytest.raises(ValueError, match="broken gzip stream"):
        M.read_idx(tmp_path / "cut.gz")


@needs_shared
def test_fashion_kind_checks_against_the_fashion_table():
    with pytest.raises(ValueError, match=M.MD5["fashion"]["t10k-images-idx3-ubyte"]):
        M.mnist(SHARED, "test", kind="fashion")
    with pytest.raises(ValueError, match="kind must be one of"):
        M.mnist(SHARED, "test", kind="kmnist")
    with pytest.raises(ValueError, match="split must be one of"):
        M.mnist(SHARED, "training")


# --- malformed IDX files -----------------------------------------------------------------

def test_truncated_file_and_trailing_bytes(tmp_path):
    path = write_idx(tmp_path / "x.idx", np.arange(24, dtype=np.uint8).reshape(2, 3, 4), 0x08)
    data = path.read_bytes()
    assert len(data) == 4 + 12 + 24
    path.write_bytes(data[:-5])
    with pytest.raises(ValueError, match=r"truncated IDX file: expected 40 bytes .* got 35"):
        M.read_idx(path)
    path.write_bytes(data[:10])
    with pytest.raises(ValueError, match=r"truncated IDX header: expected 16 bytes .* got 10"):
        M.read_idx(path)
    path.write_bytes(data + b"\x00\x00\x00")
    with pytest.raises(ValueError, match=r"trailing bytes.*expected 40 bytes.*got 43 \(3 extra\)"):
        M.read_idx(path)


@needs_shared
def test_truncated_real_file(raw_copy):
    path = raw_copy / TEST_FILES[0]
    path.write_bytes(path.read_bytes()[:-784])
    with pytest.raises(ValueError, match="truncated IDX file: expected 7840016 bytes .* got 7839232"):
        M.mnist(raw_copy, "test", check=False)


@pytest.mark.parametrize("header", [b"\x00\x01\x08\x01", b"\x1f\x00\x08\x01", b"\x00\x00\x07\x01", b"PK\x03\x04"])
def test_wrong_magic_number(tmp_path, header):
    path = tmp_path / "bad.idx"
    path.write_bytes(header + struct.pack(">I", 3) + b"abc")
    with pytest.raises(ValueError, match=f"bad IDX magic number 0x{header.hex().upper()}") as err:
        M.read_idx(path)
    assert str(path) in str(err.value)


def test_empty_file(tmp_path):
    (tmp_path / "empty").write_bytes(b"")
    with pytest.raises(ValueError, match="expected at least a 4-byte header, got 0 bytes"):
        M.read_idx(tmp_path / "empty")


# --- synthetic IDX round trips -----------------------------------------------------------

ROUND_TRIP = [
    (0x08, np.uint8, torch.uint8, [0, 1, 127, 128, 255]),
    (0x09, np.int8, torch.int8, [-128, -1, 0, 1, 127]),
    (0x0B, np.int16, torch.int16, [-32768, -2, 258, 4097, 32767]),  # 258 = 0x0102: byte order shows
    (0x0C, np.int32, torch.int32, [-(2**31), -70000, 16909060, 7, 2**31 - 1]),
    (0x0D, np.float32, torch.float32, [-1.5, 0.0, 3.25e-7, 1e30, float("inf")]),
    (0x0E, np.float64, torch.float64, [-2.0**-1074, 0.1, np.pi, -1e300, 12345.678]),
]


@pytest.mark.parametrize("compress", [False, True], ids=["raw", "gz"])
@pytest.mark.parametrize("code,np_dtype,torch_dtype,values", ROUND_TRIP, ids=lambda v: getattr(v, "__name__", None))
def test_synthetic_idx_round_trip(tmp_path, code, np_dtype, torch_dtype, values, compress):
    rng = np.random.default_rng(code)
    base = np.array(values, dtype=np_dtype)
    array = rng.choice(base, size=(3, 4, 5)).astype(np_dtype)  # 3 tiny "images"
    array.flat[:5] = base  # every listed value appears
    out = M.read_idx(write_idx(tmp_path / "a.idx", array, code, compress))
    assert out.dtype == torch_dtype and out.shape == (3, 4, 5)
    assert np.array_equal(out.numpy(), array)
    out.add_(0)  # writable, native byte order: torch accepts it in-place
    vec = M.read_idx(write_idx(tmp_path / "v.idx", base, code))
    assert vec.shape == (5,) and np.array_equal(vec.numpy(), base)


def test_zero_length_dimension(tmp_path):
    out = M.read_idx(write_idx(tmp_path / "e.idx", np.zeros((0, 28, 28), np.uint8), 0x08))
    assert out.shape == (0, 28, 28)


# --- missing files and the split convention ----------------------------------------------

def test_missing_files_named_with_instructions(tmp_path):
    with pytest.raises(FileNotFoundError) as err:
        M.mnist(tmp_path, "test")
    message = str(err.value)
    for name in TEST_FILES:
        assert name in message
    assert not any(name in message for name in TRAIN_FILES)
    assert str(tmp_path) in message and f"coursekit.data.mnist.download({str(tmp_path)!r}, kind='mnist', split='test')" in message
    assert "https://ossci-datasets.s3.amazonaws.com/mnist/t10k-images-idx3-ubyte.gz" in message
    with pytest.raises(FileNotFoundError, match="does not exist"):
        M.mnist(tmp_path / "nowhere", "test")


@needs_shared
def test_only_the_missing_file_is_named(tmp_path):
    shutil.copy(SHARED / f"{TEST_FILES[0]}.gz", tmp_path)
    with pytest.raises(FileNotFoundError) as err:
        M.mnist(tmp_path, "test", kind="mnist")
    assert TEST_FILES[1] in str(err.value) and f"{TEST_FILES[0]} " not in str(err.value)


@needs_shared
def test_full_mnist_without_training_files_names_them():
    with pytest.raises(FileNotFoundError) as err:
        M.mnist(SHARED)
    message = str(err.value)
    assert all(name in message for name in TRAIN_FILES)
    assert not any(f"  {name}" in message for name in TEST_FILES)
    assert "split='test'" in message
    for split in ("train", "val"):
        with pytest.raises(FileNotFoundError, match=TRAIN_FILES[0]):
            M.mnist(SHARED, split)


@needs_shared
def test_train_val_split_convention_on_a_stand_in_training_set(raw_copy, test_split):
    """A 60,000-image training file made of the test set six times over (check=False): train is
    its first 50,000 images, val its last 10,000, test the test file, nothing shuffled."""
    images = M.read_idx(raw_copy / TEST_FILES[0]).numpy()
    labels = M.read_idx(raw_copy / TEST_FILES[1]).numpy()
    order = np.arange(60000) % 10000
    order[50000:] = np.arange(10000)[::-1]  # val = the test set reversed, to tell the halves apart
    write_idx(raw_copy / TRAIN_FILES[0], images[order], 0x08)
    write_idx(raw_copy / TRAIN_FILES[1], labels[order], 0x08)
    splits = M.mnist(raw_copy, check=False)
    assert isinstance(splits, Splits) and [len(s) for s in splits] == [50000, 10000, 10000]
    assert [s.name for s in splits] == ["train", "val", "test"]
    assert torch.equal(splits.train.x[:10000], test_split.x) and torch.equal(splits.train.y[40000:], test_split.y)
    assert torch.equal(splits.val.x, test_split.x.flip(0)) and torch.equal(splits.val.y, test_split.y.flip(0))
    assert torch.equal(splits.test.x, test_split.x)
    assert torch.equal(M.mnist(raw_copy, "val", check=False).y, splits.val.y)
    with pytest.raises(ValueError, match=f"{TRAIN_FILES[0]}.*MD5"):
        M.mnist(raw_copy)
    write_idx(raw_copy / TRAIN_FILES[0], images[:100], 0x08)
    write_idx(raw_copy / TRAIN_FILES[1], labels[:100], 0x08)
    with pytest.raises(ValueError, match="holds 100 images; the MNIST training set has 60000"):
        M.mnist(raw_copy, "train", check=False)


@needs_shared
def test_wrong_shapes_and_labels_are_named(raw_copy):
    labels = M.read_idx(raw_copy / TEST_FILES[1]).numpy().copy()
    labels[3] = 10
    write_idx(raw_copy / TEST_FILES[1], labels, 0x08)
    with pytest.raises(ValueError, match="must hold labels 0..9, got a 10"):
        M.mnist(raw_copy, "test", check=False)
    write_idx(raw_copy / TEST_FILES[1], np.zeros(9999, np.uint8), 0x08)
    with pytest.raises(ValueError, match=r"labels \(10000,\) to match .* got uint8 \(9999,\)"):
        M.mnist(raw_copy, "test", check=False)
    write_idx(raw_copy / TEST_FILES[0], np.zeros((10000, 784), np.uint8), 0x08)
    with pytest.raises(ValueError, match=r"uint8 images \(N, 28, 28\), got uint8 \(10000, 784\)"):
        M.mnist(raw_copy, "test", check=False)


# --- download, with a fake fetch ---------------------------------------------------------

class FakeMirrors:
    """fetch(url) for tests: `behaviour[base]` is "down", "corrupt" or "ok" (serves the shared file)."""

    def __init__(self, behaviour):
        self.behaviour = behaviour
        self.calls = []

    def __call__(self, url):
        self.calls.append(url)
        base, name = url.rsplit("/", 1)
        mode = self.behaviour[base + "/"]
        if mode == "down":
            raise urllib.error.URLError("[Errno 111] Connection refused")
        data = (SHARED / name).read_bytes()
        if mode == "corrupt":
            raw = bytearray(gzip.decompress(data))
            raw[1000] ^= 0x01
            return gzip.compress(bytes(raw), compresslevel=1)
        return data


A, B = "https://a.example/mnist/", "https://b.example/mnist/"


@needs_shared
def test_download_falls_back_to_the_next_mirror_and_skips_valid_files(tmp_path, test_split):
    fake = FakeMirrors({A: "down", B: "ok"})
    root = tmp_path / "data"
    paths = M.download(root, split="test", mirrors=[A, B], fetch=fake, verbose=False)
    assert fake.calls == [A + f"{TEST_FILES[0]}.gz", B + f"{TEST_FILES[0]}.gz",
                          A + f"{TEST_FILES[1]}.gz", B + f"{TEST_FILES[1]}.gz"]
    assert paths == [root / f"{n}.gz" for n in TEST_FILES]
    assert sorted(p.name for p in root.iterdir()) == [f"{n}.gz" for n in TEST_FILES]  # no temp files left
    part = M.mnist(root, "test")
    assert torch.equal(part.x, test_split.x) and torch.equal(part.y, test_split.y)
    fake.calls.clear()
    assert M.download(root, split="test", mirrors=[A, B], fetch=fake, verbose=False) == paths
    assert fake.calls == []  # present and valid: nothing fetched


@needs_shared
def test_corrupt_download_is_rejected_and_not_left_on_disk(tmp_path):
    fake = FakeMirrors({A: "corrupt", B: "down"})
    with pytest.raises(RuntimeError) as err:
        M.download(tmp_path, split="test", mirrors=[A, B], fetch=fake, verbose=False)
    message = str(err.value)
    assert "MD5" in message and M.MD5["mnist"][TEST_FILES[0]] in message and "Connection refused" in message
    assert list(tmp_path.iterdir()) == []
    # a corrupt first mirror and a good second one: the good copy is kept
    fake = FakeMirrors({A: "corrupt", B: "ok"})
    M.download(tmp_path, split="test", mirrors=[A, B], fetch=fake, verbose=False)
    assert len(fake.calls) == 4
    assert all(M.file_md5(tmp_path / f"{n}.gz") == M.MD5["mnist"][n] for n in TEST_FILES)


@needs_shared
def test_download_replaces_an_invalid_gz_but_never_deletes_a_raw_file(tmp_path, raw_copy):
    root = tmp_path / "d"
    root.mkdir()
    (root / f"{TEST_FILES[0]}.gz").write_bytes(gzip.compress(b"not mnist"))
    shutil.copy(SHARED / f"{TEST_FILES[1]}.gz", root)
    fake = FakeMirrors({A: "ok"})
    M.download(root, split="test", mirrors=[A], fetch=fake, verbose=False)
    assert fake.calls == [A + f"{TEST_FILES[0]}.gz"]
    assert M.file_md5(root / f"{TEST_FILES[0]}.gz") == M.MD5["mnist"][TEST_FILES[0]]
    bad_raw = raw_copy / TEST_FILES[1]
    bad_raw.write_bytes(b"\x00\x00\x08\x01" + struct.pack(">I", 1) + b"\x03")
    with pytest.raises(ValueError, match="delete it"):
        M.download(raw_copy, split="test", mirrors=[A], fetch=FakeMirrors({A: "ok"}), verbose=False)
    assert bad_raw.read_bytes()[-1:] == b"\x03"


@needs_shared
def test_download_all_four_files(tmp_path, monkeypatch):
    """split=None fetches the training files too (synthetic ones, with their MD5s patched in)."""
    served = {f"{n}.gz": (SHARED / f"{n}.gz").read_bytes() for n in TEST_FILES}
    for name in TRAIN_FILES:
        served[f"{name}.gz"] = gzip.compress(f"fake {name}".encode())
        monkeypatch.setitem(M.MD5["mnist"], name, hashlib.md5(f"fake {name}".encode()).hexdigest())
    calls = []

    def fetch(url):
        calls.append(url)
        return served[url.rsplit("/", 1)[1]]
    M.download(tmp_path, mirrors=[A], fetch=fetch, verbose=False)
    assert sorted(u.rsplit("/", 1)[1] for u in calls) == sorted(served)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(served)


@needs_shared
def test_default_fetch_uses_urllib_and_the_torchvision_mirror(tmp_path, monkeypatch):
    urls = []

    class Response:
        def __init__(self, url):
            self.data = (SHARED / url.rsplit("/", 1)[1]).read_bytes()

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

        def read(self):
            return self.data

    def fake_urlopen(url, timeout=None):
        urls.append(url)
        return Response(url)
    monkeypatch.setattr(urllib.request, "urlopen", fake_urlopen)
    M.download(tmp_path, split="test", verbose=False)
    assert urls == [f"https://ossci-datasets.s3.amazonaws.com/mnist/{n}.gz" for n in TEST_FILES]
    assert M.mnist(tmp_path, "test").x.shape == (10000, 1, 28, 28)


def test_download_argument_errors(tmp_path):
    with pytest.raises(ValueError, match="kind must be one of"):
        M.download(tmp_path, kind="cifar", fetch=lambda url: b"")
    with pytest.raises(ValueError, match="mirrors must name"):
        M.download(tmp_path, mirrors=[], fetch=lambda url: b"")
