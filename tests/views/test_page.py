"""views.page: the shared page shell, safe with hostile names and prompts, and careful with folders."""

from __future__ import annotations

from pathlib import Path

import pytest

from assetgen.errors import UsageError
from assetgen.views.page import GENERATOR, claim_folder, embed_json, href, render_page, write_page
from tests.pages import Page

HOSTILE = "</script><script>alert(1)</script><!-- \"&'"


def page(records: list[dict[str, object]], title: str = "Gallery") -> str:
    body = '<ul><li class="card" data-i="0" data-state="new">x</li></ul>'
    return render_page(title=title, subtitle="sub", states=[("new", "New <1>")], total=1,
                       body=body, records=records)  # fmt: skip


def test_hostile_text_in_the_data_cannot_end_the_script() -> None:
    text = page([{"prompt": HOSTILE, "name": "a"}])
    assert text.count("</script>") == 2  # the data's and the inlined script's own
    assert "<!--" not in text.split('id="data">', 1)[1].split("</script>", 1)[0]
    parsed = Page(text)
    assert parsed.data == [{"prompt": HOSTILE, "name": "a"}]  # the JSON reads back exactly


def test_title_and_filter_labels_are_escaped() -> None:
    text = page([], title=HOSTILE)
    parsed = Page(text)
    assert len(parsed.all("script")) == 2  # the hostile title opened none
    assert "New <1>" not in text and "New &lt;1&gt;" in text
    parsed.assert_self_contained()


def test_embed_json_keeps_non_ascii_and_escapes_every_angle_bracket() -> None:
    text = embed_json({"k": "é <b>"})
    assert text == '{"k":"é \\u003cb>"}'


def test_href_is_relative_and_percent_encoded(tmp_path: Path) -> None:
    target = tmp_path / "assets" / "a b#1?.png"
    assert href(target, tmp_path / "site") == "../assets/a%20b%231%3F.png"


def test_claim_folder_takes_new_empty_or_own_folders_only(tmp_path: Path) -> None:
    claim_folder(tmp_path / "new", "new")  # not there yet: fine
    (tmp_path / "empty").mkdir()
    claim_folder(tmp_path / "empty", "empty")
    ours = tmp_path / "ours"
    ours.mkdir()
    write_page(ours, page([]))
    (ours / "thumbs").mkdir()
    claim_folder(ours, "ours")
    assert GENERATOR in (ours / "index.html").read_text()


def test_claim_folder_refuses_a_site_and_a_file(tmp_path: Path) -> None:
    site = tmp_path / "site"
    site.mkdir()
    (site / "index.html").write_text("<html>someone's site</html>")
    with pytest.raises(UsageError, match="holds no assetgen page; nothing was written"):
        claim_folder(site, "site")
    (tmp_path / "file").write_text("x")
    with pytest.raises(UsageError, match="file: not a folder"):
        claim_folder(tmp_path / "file", "file")
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "index.html").mkdir()  # unreadable as a page: not ours
    with pytest.raises(UsageError):
        claim_folder(broken, "broken")
