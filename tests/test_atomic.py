"""write_atomically: the data reaches the disk before the rename makes it the file."""

import os
import stat

from archcalc.atomic import write_atomically


def test_data_and_folder_are_synced_before_and_after_the_rename(tmp_path, monkeypatch):
    target = tmp_path / "out.json"
    target.write_text("old")
    events = []
    real_fsync, real_replace = os.fsync, os.replace

    def fsync(fd):
        mode = os.fstat(fd).st_mode
        events.append(("fsync-dir" if stat.S_ISDIR(mode) else "fsync-file", os.fstat(fd).st_size))
        real_fsync(fd)

    def replace(src, dst):
        events.append(("replace", target.read_text()))
        real_replace(src, dst)

    monkeypatch.setattr(os, "fsync", fsync)
    monkeypatch.setattr(os, "replace", replace)
    write_atomically(target, lambda handle: handle.write(b"new data"))
    assert target.read_text() == "new data"
    expected = [("fsync-file", len(b"new data")), ("replace", "old")]
    if os.name == "posix":
        expected.append(("fsync-dir", events[-1][1]))
    assert events == expected
    assert [p.name for p in tmp_path.iterdir()] == ["out.json"]
