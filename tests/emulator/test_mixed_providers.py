"""One manifest mixing krea-2-turbo, another EvoLink model and an OpenAI model, end to end:
validate, plan (a cost range for the token-billed one), and a real build against both
emulators (EvoLink's and its OpenAI mode) on 127.0.0.1."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

from assetgen.catalog import MODELS
from assetgen.lock.read import read_lock

emulator = pytest.importorskip("assetgen.emulator", reason="needs the emulator extra")
pytest.importorskip("uvicorn")

MANIFEST = """\
version: 1
provider: evolink
models:
  doubao-seedream-4.5: {credits: {default: 2.5}}
assets:
  hero:
    prompt: a city skyline at dawn
    size: "16:9"
    quality: 2K
  banner:
    model: doubao-seedream-4.5
    prompt: a wide banner of rolling hills
    size: 2560x1440
  icon:
    model: gpt-image-1
    prompt: a round search icon
    size: 1024x1024
    quality: low
"""


def run(root: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "assetgen", "-C", str(root), *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )


def test_mixed_manifest_validates_plans_and_builds(tmp_path: Path) -> None:
    (tmp_path / "assetgen.yaml").write_text(MANIFEST, encoding="utf-8")
    with (
        emulator.run_emulator(latency=0.05, seed=1) as evo,
        emulator.run_emulator(latency=0.05, seed=2, api="openai") as oai,
    ):
        env = {
            **os.environ,
            "EVOLINK_API_KEY": evo.key,
            "EVOLINK_BASE_URL": evo.base_url,
            "ASSETGEN_EVOLINK_POLL_INTERVAL": "0.05",
            "ASSETGEN_EVOLINK_FIRST_POLL_MAX": "0.05",
            "OPENAI_API_KEY": oai.key,
            "OPENAI_BASE_URL": oai.base_url + "/v1",
            "NO_COLOR": "1",
        }
        done = run(tmp_path, env, "validate")
        assert done.returncode == 0, done.stderr

        done = run(tmp_path, env, "plan", "--json")
        assert done.returncode == 0, done.stderr
        plan = json.loads(done.stdout)
        by_name = {a["name"]: a for a in plan["actions"]}
        assert by_name["hero"]["credits"] == 1.8 and "credits_max" not in by_name["hero"]
        assert by_name["banner"]["credits"] == 2.5  # the project's price, over the built-in 2.25
        icon = by_name["icon"]
        low = 272 * 40 / 1e6 * 68  # gpt-image-1's image tokens at $40 per 1M, in credits
        assert icon["credits"] == pytest.approx(low) and icon["credits_max"] > icon["credits"]
        assert icon["reproducible"] is False and "reproducible" not in by_name["hero"]
        assert plan["credits_max"] == pytest.approx(1.8 + 2.5 + icon["credits_max"])

        text = run(tmp_path, env, "plan")
        assert "no seed: generating again gives another image" in text.stdout
        shown_low, shown_high = f"{plan['credits']:.2f}", f"{plan['credits_max']:.2f}"
        total = (
            shown_low if shown_low == shown_high else f"{shown_low} to {shown_high}"
        )  # a sub-cent range shows as one figure
        assert f"Estimated cost: {total} credits" in text.stdout

        refused = run(tmp_path, env, "build", "--max-credits", f"{plan['credits'] + 1e-4:.4f}")
        assert refused.returncode != 0 and "above --max-credits" in refused.stderr
        assert not (tmp_path / "assetgen.lock").exists()

        done = run(tmp_path, env, "build")
        assert done.returncode == 0, done.stderr
        assert evo.stats()["submits"] == 2 and oai.stats()["generations"] == 1
        assert oai.stats()["duplicate_generations"] == 0

    lock = read_lock(tmp_path / "assetgen.lock")
    assert {n: e.request["provider"] for n, e in lock.entries.items()} == {
        "hero": "evolink",
        "banner": "evolink",
        "icon": "openai",
    }
    assert (lock.entries["banner"].width, lock.entries["banner"].height) == (2560, 1440)
    with Image.open(tmp_path / lock.entries["icon"].path) as im:
        assert im.size == (1024, 1024)
    # What OpenAI's usage said (input + image tokens), not the plan's estimate.
    assert lock.entries["icon"].credits == pytest.approx(icon["credits"], rel=0.05)
    assert MODELS["krea-2-turbo"].credits["2K"] == lock.entries["hero"].credits
