import hashlib
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from nnlab import NnlabError
from nnlab.data.datasets import DatasetInfo
from nnlab.data.download import DownloadError, download_dataset
from tinydata import MNIST_FILES

FILES = {
    "train_images": b"train images " * 20000,  # several chunks
    "train_labels": b"train labels",
    "test_images": b"test images",
    "test_labels": b"test labels",
}


def md5(data):
    return hashlib.md5(data).hexdigest()


def make_info(*mirrors):
    files = {role: (MNIST_FILES[role], md5(FILES[role])) for role in FILES}
    return DatasetInfo(name="tiny", files=files, mirrors=list(mirrors), classes=[str(i) for i in range(10)])


class Server:
    """A local HTTP server; ``routes`` maps '/path' to the bytes to serve."""

    def __init__(self):
        self.routes = {}
        self.requests = []
        self.short = set()  # paths whose body stops halfway
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                server.requests.append(self.path)
                body = server.routes.get(self.path)
                if body is None:
                    self.send_error(404)
                    return
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body[: len(body) // 2] if self.path in server.short else body)
                self.close_connection = True

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, args=(0.01,), daemon=True)
        self.thread.start()

    def serve(self, prefix, files):
        for role, body in files.items():
            self.routes[f"{prefix}/{MNIST_FILES[role]}"] = body

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server():
    s = Server()
    yield s
    s.close()


def unused_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_downloads_all_files_with_progress(tmp_path, server):
    server.serve("/a", FILES)
    calls = []
    got = download_dataset(make_info(server.url + "/a/"), tmp_path, on_progress=lambda *a: calls.append(a))
    assert set(got) == set(FILES)
    for role, body in FILES.items():
        assert (tmp_path / MNIST_FILES[role]).read_bytes() == body
        assert got[role] == tmp_path / MNIST_FILES[role]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(MNIST_FILES.values())

    big = [c for c in calls if c[0] == MNIST_FILES["train_images"]]
    size = len(FILES["train_images"])
    assert len(big) > 2
    assert all(total == size for _, _, total in big)
    done = [d for _, d, _ in big]
    assert done == sorted(done) and done[0] == 0 and done[-1] == size
    assert {c[0] for c in calls} == set(MNIST_FILES.values())


def test_mirror_without_trailing_slash(tmp_path, server):
    server.serve("/a", FILES)
    download_dataset(make_info(server.url + "/a"), tmp_path)
    assert (tmp_path / MNIST_FILES["test_labels"]).read_bytes() == FILES["test_labels"]


def test_existing_files_are_not_fetched_again(tmp_path, server):
    server.serve("/a", FILES)
    (tmp_path / MNIST_FILES["train_images"]).write_bytes(b"already here")
    (tmp_path / MNIST_FILES["test_images"].removesuffix(".gz")).write_bytes(b"unpacked by the user")
    got = download_dataset(make_info(server.url + "/a/"), tmp_path)
    assert set(got) == {"train_labels", "test_labels"}
    assert (tmp_path / MNIST_FILES["train_images"]).read_bytes() == b"already here"
    assert not (tmp_path / MNIST_FILES["test_images"]).exists()
    assert len(server.requests) == 2


def test_bad_mirror_is_skipped(tmp_path, server):
    server.serve("/bad", {role: body[::-1] + b"x" for role, body in FILES.items()})
    server.serve("/good", FILES)
    mirrors = [f"{server.url}/{name}/" for name in ("missing", "bad", "good")]
    download_dataset(make_info(*mirrors), tmp_path)
    for role, body in FILES.items():
        assert (tmp_path / MNIST_FILES[role]).read_bytes() == body
    assert server.requests[:3] == [f"/missing/{MNIST_FILES['train_images']}", f"/bad/{MNIST_FILES['train_images']}",
                                   f"/good/{MNIST_FILES['train_images']}"]  # fmt: skip
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(MNIST_FILES.values())


def test_connection_closed_early_is_skipped(tmp_path, server):
    server.serve("/short", FILES)
    server.short.update(server.routes)
    server.serve("/good", FILES)
    download_dataset(make_info(f"{server.url}/short/", f"{server.url}/good/"), tmp_path)
    assert (tmp_path / MNIST_FILES["train_images"]).read_bytes() == FILES["train_images"]


def assert_nothing_left(folder):
    assert list(folder.iterdir()) == []


def test_all_mirrors_serve_wrong_bytes(tmp_path, server):
    server.serve("/bad", {role: b"wrong " * 5000 for role in FILES})
    with pytest.raises(DownloadError) as info:
        download_dataset(make_info(f"{server.url}/bad/", f"{server.url}/bad/"), tmp_path)
    message = str(info.value)
    assert isinstance(info.value, NnlabError)
    assert "checksum mismatch" in message and MNIST_FILES["train_images"] in message
    assert "\n" not in message
    assert_nothing_left(tmp_path)


def test_all_mirrors_unreachable(tmp_path):
    mirror = f"http://127.0.0.1:{unused_port()}/"
    with pytest.raises(DownloadError) as info:
        download_dataset(make_info(mirror, mirror), tmp_path, timeout=5)
    message = str(info.value)
    assert "refused" in message and mirror in message and "\n" not in message
    assert_nothing_left(tmp_path)


def test_http_error_reported(tmp_path, server):
    with pytest.raises(DownloadError, match="HTTP 404"):
        download_dataset(make_info(server.url + "/nothing/"), tmp_path)
    assert_nothing_left(tmp_path)


def test_progress_callback_error_leaves_no_partial_file(tmp_path, server):
    server.serve("/a", FILES)

    def stop(name, done, total):
        if done > 0:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        download_dataset(make_info(server.url + "/a/"), tmp_path, on_progress=stop)
    assert_nothing_left(tmp_path)


def test_file_url_mirror(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    for role, body in FILES.items():
        (src / MNIST_FILES[role]).write_bytes(body)
    dest = tmp_path / "dest"
    dest.mkdir()
    download_dataset(make_info(src.as_uri() + "/"), dest)
    assert (dest / MNIST_FILES["train_labels"]).read_bytes() == FILES["train_labels"]


def test_unwritable_destination(tmp_path, server):
    server.serve("/a", FILES)
    with pytest.raises(DownloadError, match="cannot write"):
        download_dataset(make_info(server.url + "/a/"), tmp_path / "does-not-exist")
    assert server.requests == []
