import gzip
import shutil

import numpy as np
import pytest
from conftest import mnist_dir

from corrnet.datasets import digits_halves, load_mnist, mnist_halves
from corrnet.datasets import mnist as mnist_mod


def test_digits_halves_shapes_and_ranges():
    d = digits_halves()
    assert d.X_train.shape == (1000, 32) and d.Y_train.shape == (1000, 32)
    assert len(d.X_val) == 300 and len(d.X_test) == 497
    assert 0 <= d.X_train.min() and d.X_train.max() <= 1 and d.X_train.dtype == np.float32
    # halves really are the left and right 4 columns of the same image
    from sklearn.datasets import load_digits

    imgs = load_digits().images / 16.0
    row = np.c_[d.X_train[0].reshape(8, 4), d.Y_train[0].reshape(8, 4)]
    assert np.any(np.all(np.isclose(imgs, row[None]), axis=(1, 2)))


def test_mnist_checksums_shapes_and_split():
    tr, trl, te, _ = load_mnist(mnist_dir())
    assert tr.shape == (60000, 28, 28) and te.shape == (10000, 28, 28) and trl.shape == (60000,)
    d = mnist_halves(mnist_dir())
    assert d.X_train.shape == (50000, 392) and d.Y_val.shape == (10000, 392) and d.X_test.shape == (10000, 392)
    px = np.float32(255.0)
    np.testing.assert_array_equal(d.X_val[0].reshape(28, 14), tr[50000, :, :14] / px)
    np.testing.assert_array_equal(d.Y_test[-1].reshape(28, 14), te[-1, :, 14:] / px)
    np.testing.assert_array_equal(d.y_train, trl[:50000])
    assert d.X_train.max() == 1.0 and d.X_train.min() == 0.0


def test_corrupt_file_is_detected(tmp_path):
    src = mnist_dir()
    for f in mnist_mod.FILES.values():
        shutil.copy(src / f, tmp_path / f)
    with gzip.open(tmp_path / "t10k-labels-idx1-ubyte.gz", "rb") as f:
        data = bytearray(f.read())
    data[100] ^= 1
    with gzip.open(tmp_path / "t10k-labels-idx1-ubyte.gz", "wb") as f:
        f.write(bytes(data))
    with pytest.raises(ValueError, match=r"t10k-labels-idx1-ubyte\.gz has MD5"):
        load_mnist(tmp_path)


def test_missing_files_say_how_to_fix(tmp_path, monkeypatch):
    monkeypatch.setenv("CORRNET_DATA", str(tmp_path))
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(mnist_mod, "CACHE", tmp_path / "cache")
    with pytest.raises(FileNotFoundError, match="CORRNET_DATA"):
        load_mnist()


def test_download_offline_gives_clear_error(tmp_path):
    with pytest.raises(ConnectionError, match="offline"):
        mnist_mod.download(tmp_path, mirrors=("http://127.0.0.1:9/",), timeout=2)


def test_noisy_views_seeded_same_class_different_image(rng):
    images = rng.uniform(size=(40, 6, 6)).astype(np.float32)
    labels = np.tile([0, 1], 20)
    v1, v2, partner = mnist_mod.noisy_views(images, labels, (0, 20, 40), random_state=3)
    w1, w2, _ = mnist_mod.noisy_views(images, labels, (0, 20, 40), random_state=3)
    np.testing.assert_array_equal(v1, w1)
    np.testing.assert_array_equal(v2, w2)
    assert v1.shape == (40, 36) and v2.shape == (40, 36) and 0 <= v2.min() and v2.max() <= 1
    assert not np.allclose(v1, images.reshape(40, -1))  # rotated
    assert np.all(labels[partner] == labels) and np.all(partner != np.arange(40))
    assert np.all((partner < 20) == (np.arange(40) < 20))  # partners stay inside their split
    assert np.all(v2 >= images.reshape(40, -1)[partner] - 1e-6)  # partner plus non-negative noise


def test_tabular_views_are_real_feature_groups_at_published_scale():
    from sklearn.datasets import load_breast_cancer, load_wine

    from corrnet.datasets import breast_cancer_views, digits_halves_raw, iris_views, load_dataset, wine_views

    bc = breast_cancer_views()
    raw = load_breast_cancer().data
    n = len(raw)
    assert len(bc.X_train) + len(bc.X_val) + len(bc.X_test) == n
    # each row's two views are the mean (0:10) and worst (20:30) features of one tumour
    rows = np.vstack([bc.X_train, bc.X_val, bc.X_test]).astype(np.float64)
    other = np.vstack([bc.Y_train, bc.Y_val, bc.Y_test]).astype(np.float64)
    idx = [int(np.argmin(np.abs(raw[:, :10] - r).sum(1))) for r in rows[:20]]
    np.testing.assert_allclose(raw[idx, 20:30], other[:20], rtol=1e-6)
    assert bc.X_train.max() > 1000 and bc.Y_train.max() > 1000  # areas: not in [0, 1]
    w = wine_views()
    assert w.X_train.shape[1] + w.Y_train.shape[1] == load_wine().data.shape[1] and w.Y_train.max() > 1000
    assert iris_views().X_train.shape[1] == 2 and digits_halves_raw().X_train.max() == 16
    # seeded, disjoint splits; the same seed gives the same split
    a, b = wine_views(random_state=1), wine_views(random_state=1)
    np.testing.assert_array_equal(a.X_test, b.X_test)
    assert not np.array_equal(a.X_test, wine_views(random_state=2).X_test)
    assert load_dataset("breast-cancer").name == "breast-cancer"


def test_download_verifies_checksums_against_a_real_http_mirror(tmp_path):
    """A local HTTP mirror: one serving a corrupted copy is rejected ("checksum mismatch", nothing
    left behind), the next mirror's good copies are kept."""
    import functools
    import http.server
    import threading

    good, bad = tmp_path / "good", tmp_path / "bad"
    good.mkdir()
    bad.mkdir()
    for name in mnist_mod.MD5:
        shutil.copy(mnist_dir() / name, good / name)
        data = bytearray((mnist_dir() / name).read_bytes())
        data[-1] ^= 0xFF  # one flipped byte
        (bad / name).write_bytes(bytes(data))
    servers = []
    for root in (bad, good):
        handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(root))
        handler.log_message = lambda *a, **k: None
        srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=srv.serve_forever, daemon=True).start()
        servers.append(srv)
    bad_url, good_url = (f"http://127.0.0.1:{s.server_address[1]}/" for s in servers)
    try:
        out = tmp_path / "out"
        with pytest.raises(ConnectionError, match="checksum mismatch"):
            mnist_mod.download(out, mirrors=(bad_url,), timeout=10)
        assert not any(out.iterdir())  # the corrupted download was not kept
        mnist_mod.download(out, mirrors=(bad_url, good_url), timeout=10)
        for name, expected in mnist_mod.MD5.items():
            assert mnist_mod.md5(out / name) == expected
    finally:
        for s in servers:
            s.shutdown()
