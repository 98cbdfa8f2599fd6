"""The local ArtifactStore's second confinement: real paths must stay inside the real root, so
symlinks placed inside the root cannot be used to read, write, list or delete outside it."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from modelyard.artifacts.paths import PARTIAL_DIR
from modelyard.artifacts.store import ArtifactStore
from modelyard.errors import InvalidArgument, PermissionDenied

pytestmark = pytest.mark.integration

SECRET = b"outside the root"


@pytest.fixture
def linked(tmp_path: Path) -> tuple[ArtifactStore, Path, Path]:
    """(store, root, outside): root/{ok.txt, link -> outside/, filelink -> outside/secret.txt,
    tree/{t.txt, inner -> outside/}, alias -> root/sub}; outside/{secret.txt, sub/deep.txt}."""
    outside = tmp_path / "outside"
    (outside / "sub").mkdir(parents=True)
    (outside / "secret.txt").write_bytes(SECRET)
    (outside / "sub" / "deep.txt").write_bytes(SECRET)
    root = tmp_path / "root"
    (root / "tree").mkdir(parents=True)
    (root / "sub").mkdir()
    (root / "sub" / "in.txt").write_bytes(b"inside")
    (root / "ok.txt").write_bytes(b"ok")
    (root / "tree" / "t.txt").write_bytes(b"t")
    (root / "link").symlink_to(outside, target_is_directory=True)
    (root / "filelink").symlink_to(outside / "secret.txt")
    (root / "tree" / "inner").symlink_to(outside, target_is_directory=True)
    (root / "alias").symlink_to(root / "sub", target_is_directory=True)
    (root / "dangling").symlink_to(tmp_path / "nowhere")
    return ArtifactStore(str(root)), root, outside


def _outside_untouched(outside: Path) -> None:
    assert sorted(str(p.relative_to(outside)) for p in outside.rglob("*")) == [
        "secret.txt",
        "sub",
        "sub/deep.txt",
    ]
    assert (outside / "secret.txt").read_bytes() == SECRET
    assert (outside / "sub" / "deep.txt").read_bytes() == SECRET


@pytest.mark.parametrize("path", ["link/secret.txt", "filelink", "link/sub/deep.txt"])
def test_cannot_read_through_a_link(linked: tuple[ArtifactStore, Path, Path], path: str) -> None:
    store, _, outside = linked
    for call in (store.read, store.stat, store.list):
        with pytest.raises(PermissionDenied) as info:
            call(path)
        assert repr(path) in str(info.value) and info.value.details["path"] == path
        assert str(outside) not in str(info.value)  # the message does not reveal the target
    with pytest.raises(PermissionDenied):
        store.download_file(path, outside.parent / "copy")
    assert not (outside.parent / "copy").exists()


@pytest.mark.parametrize(
    "path", ["link/secret.txt", "link/new.txt", "link/sub/new.txt", "link/x/y/z.txt", "filelink"]
)
def test_cannot_write_through_a_link(linked: tuple[ArtifactStore, Path, Path], path: str) -> None:
    store, root, outside = linked
    with pytest.raises(PermissionDenied, match=re.escape(repr(path))):
        store.open_upload(path)
    _outside_untouched(outside)
    partial = root / PARTIAL_DIR
    assert not partial.exists() or not any(partial.iterdir())


def test_a_link_swapped_in_during_an_upload_is_not_followed(
    linked: tuple[ArtifactStore, Path, Path],
) -> None:
    store, root, outside = linked
    (root / "late").mkdir()
    with store.open_upload("late/sub/file.txt") as upload:
        upload.write(b"late")
        (root / "late").rename(root / "late-moved")
        (root / "late").symlink_to(outside, target_is_directory=True)
        with pytest.raises(PermissionDenied, match=r"'late/sub/file\.txt'"):
            upload.commit()
    assert upload.state == "aborted"
    _outside_untouched(outside)
    assert list((root / PARTIAL_DIR).iterdir()) == []


@pytest.mark.parametrize("recursive", [False, True])
def test_cannot_list_through_a_link(
    linked: tuple[ArtifactStore, Path, Path], recursive: bool
) -> None:
    store, _, _ = linked
    with pytest.raises(PermissionDenied, match="'link'"):
        store.list("link", recursive=recursive)
    listed = [e.path for e in store.list("", recursive=recursive)]
    assert not any(p.startswith(("link", "filelink", "tree/inner", "dangling")) for p in listed)
    if recursive:  # links that stay inside are listed but not descended (no cycles)
        assert listed == ["ok.txt", "sub/in.txt", "tree/t.txt"]
    else:
        assert listed == ["alias", "ok.txt", "sub", "tree"]


@pytest.mark.parametrize("path", ["link/secret.txt", "link/sub", "link", "filelink"])
def test_cannot_delete_through_a_link(linked: tuple[ArtifactStore, Path, Path], path: str) -> None:
    store, root, outside = linked
    with pytest.raises(PermissionDenied, match=re.escape(repr(path))):
        store.delete(path)
    _outside_untouched(outside)
    assert (root / "link").is_symlink() and (root / "filelink").is_symlink()


def test_deleting_a_tree_holding_a_link_keeps_the_outside(
    linked: tuple[ArtifactStore, Path, Path],
) -> None:
    store, root, outside = linked
    store.delete("tree")
    assert not (root / "tree").exists() and not (root / "tree").is_symlink()
    _outside_untouched(outside)


def test_links_that_stay_inside_work(linked: tuple[ArtifactStore, Path, Path]) -> None:
    store, root, _ = linked
    with store.read("alias/in.txt") as reader:
        assert b"".join(reader) == b"inside"
    assert [e.path for e in store.list("alias")] == ["alias/in.txt"]
    store.delete("alias")  # removes the link, not the folder it points to
    assert not (root / "alias").exists() and (root / "sub" / "in.txt").exists()


def test_a_root_that_is_itself_a_link_is_fine(tmp_path: Path) -> None:
    real = tmp_path / "real-root"
    real.mkdir()
    (tmp_path / "root-link").symlink_to(real, target_is_directory=True)
    store = ArtifactStore((tmp_path / "root-link").as_uri())
    assert store.upload_file("a/b.txt", _file(tmp_path, b"via link")).size == 8
    assert (real / "a" / "b.txt").read_bytes() == b"via link"
    assert [e.path for e in store.list("", recursive=True)] == ["a/b.txt"]


def _file(tmp_path: Path, data: bytes) -> Path:
    source = tmp_path / "source.bin"
    source.write_bytes(data)
    return source


def test_files_and_directories_do_not_replace_each_other(tmp_path: Path) -> None:
    store = ArtifactStore(str(tmp_path / "root"))
    store.upload_file("a/b.txt", _file(tmp_path, b"b"))
    with pytest.raises(InvalidArgument, match="'a' is a directory"):
        store.open_upload("a")
    with store.open_upload("a/b.txt/c.txt") as upload:
        upload.write(b"c")
        with pytest.raises(InvalidArgument, match=r"'a/b\.txt/c\.txt'"):
            upload.commit()
    assert (tmp_path / "root" / "a" / "b.txt").read_bytes() == b"b"
    assert list((tmp_path / "root" / PARTIAL_DIR).iterdir()) == []


def test_the_partial_folder_is_hidden_and_reserved(tmp_path: Path) -> None:
    store = ArtifactStore(str(tmp_path / "root"))
    with store.open_upload("x.bin") as upload:
        upload.write(b"pending")
        assert (tmp_path / "root" / PARTIAL_DIR).is_dir()
        assert store.list("") == [] and store.list("", recursive=True) == []
        with pytest.raises(InvalidArgument, match="reserved"):
            store.list(PARTIAL_DIR)
        with pytest.raises(InvalidArgument, match="reserved"):
            store.delete(PARTIAL_DIR)
        upload.commit()
    assert [e.path for e in store.list("")] == ["x.bin"]
    assert os.listdir(tmp_path / "root" / PARTIAL_DIR) == []


def test_committed_files_have_ordinary_permissions(tmp_path: Path) -> None:
    store = ArtifactStore(str(tmp_path / "root"))
    store.upload_file("f.txt", _file(tmp_path, b"x"))
    umask = os.umask(0)
    os.umask(umask)
    assert (tmp_path / "root" / "f.txt").stat().st_mode & 0o777 == 0o666 & ~umask


def test_special_files_are_not_read(tmp_path: Path) -> None:
    root = tmp_path / "root"
    root.mkdir()
    os.mkfifo(root / "fifo")
    store = ArtifactStore(str(root))
    with pytest.raises(InvalidArgument, match="'fifo' is not a regular file"):
        store.read("fifo")  # returns at once: opening never waits for a writer
    assert store.list() == []
