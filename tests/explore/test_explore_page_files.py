"""The review page's files: candidate images are copies written by temp file + rename,
checked against the cache record's size, and its name and prompt are escaped."""

from __future__ import annotations

import os
from pathlib import Path

from tests.explore.test_explore import explore, run


def page_images(root: Path) -> list[Path]:
    return sorted((root / ".assetgen" / "explore" / "images").iterdir())


def test_page_images_are_copies_and_a_truncated_one_is_written_again(quickstart: Path) -> None:
    """A page image shares no inode with the cache's blob (editing it leaves the cache
    whole); one cut short by a kill is noticed by its size and written again."""
    cands = explore(quickstart, "hero-home", "-n", "2")
    assert run(quickstart, "explore", "--page", "--provider", "draft")[0] == 0
    images = page_images(quickstart)
    assert len(images) == 2
    blobs = {Path(e["path"]).name: Path(e["path"]) for e in cands}
    for image in images:
        blob = blobs[image.stem]
        assert image.read_bytes() == blob.read_bytes()
        assert not os.path.samefile(image, blob)
    whole = images[0].read_bytes()
    images[0].write_bytes(whole[: len(whole) // 2])  # a copy cut short
    images[1].write_bytes(b"edited")  # in place: the cache must not see it
    assert blobs[images[1].stem].read_bytes() != b"edited"
    assert run(quickstart, "explore", "--page", "--provider", "draft")[0] == 0
    assert images[0].read_bytes() == whole
    assert images[1].read_bytes() == blobs[images[1].stem].read_bytes()


def test_the_page_escapes_an_assets_prompt(tmp_path: Path) -> None:
    """A prompt with markup and a script end tag appears only escaped in the page."""
    evil = "<img src=x onerror=alert(1)></script><script>alert(2)</script>"
    (tmp_path / "assetgen.yaml").write_text(
        f"version: 1\nprovider: draft\nassets:\n  a.b_c-1:\n    prompt: '{evil}'\n"
    )
    explore(tmp_path, "a.b_c-1", "-n", "1")
    assert run(tmp_path, "explore", "--page")[0] == 0
    html = (tmp_path / ".assetgen" / "explore" / "index.html").read_text(encoding="utf-8")
    assert "<img src=x" not in html and "<script>alert" not in html
    assert html.count("</script>") == html.count("<script")  # none closed early by the prompt
    assert "&lt;img src=x onerror=alert(1)&gt;" in html  # the cards' text, escaped
    assert 'data-name="a.b_c-1"' in html
