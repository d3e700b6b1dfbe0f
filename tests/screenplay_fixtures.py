"""A scripted Dramatron run for the screenplay tests: the step outputs, images, prompts and
manifest written as the engine writes them (``make_run``), and the same outputs produced by a
tiny chain on the fake models (``run_chain``). The other screenplay tests import from here."""

from __future__ import annotations

import io
import json
import time
from pathlib import Path
from typing import Any

from PIL import Image, ImageDraw

from dramaturg import FakeChatModel, FakeImageModel, RunResult, load_chain, load_run

LOGLINE = "A lighthouse keeper who bottles storms must free the last one before it drowns her town."
TITLE = "The Salt Road"
CHARACTERS = [
    {
        "name": "Mara Voss",
        "description": "Mara Voss is a lighthouse keeper in her fifties who bottles storms & "
        "keeps them in the cellar.",
    },
    {
        "name": "Orin Hale",
        "description": "Orin is the ferryman, Mara's oldest friend, who owes her a debt.",
    },
    {"name": "Ilse", "description": "A child of the harbour who hears storms talking."},
]
PLOT = [
    {
        "place": "The lamp room of the lighthouse",
        "plot_element": "Exposition",
        "beat": "Mara counts her bottled storms; one of them is cracked.",
    },
    {
        "place": "Harbour wall",
        "plot_element": "Inciting Incident",
        "beat": "Orin brings news: the ferry cannot cross.",
    },
    {
        "place": "the Lamp Room of the Lighthouse",
        "plot_element": "Climax",
        "beat": "Mara and Ilse uncork the last storm.",
    },
    {
        "place": "Harbour wall",
        "plot_element": "Resolution",
        "beat": "The town wakes to a calm sea.",
    },
]
PLACES = [
    "A round glass room at the top of the tower. Shelves of corked bottles, each holding a "
    "small grey weather.",
    "A long stone wall against the sea, slick with spray, lamps swinging on their hooks.",
]
SCRIPT = "<script>alert('x')</script>"
DIALOGUE: list[list[dict[str, Any]]] = [
    [
        {"type": "action", "text": "Rain hammers the glass. Mara moves between the shelves."},
        {
            "type": "dialogue",
            "character": "MARA (V.O.)",
            "parenthetical": "(quietly)",
            "line": "Forty years of storms, and every one of them labelled.",
        },
        {"type": "dialogue", "character": "MARA", "parenthetical": None, "line": "*Listen* to it."},
        {"type": "transition", "text": "CUT TO:"},
    ],
    [
        {"type": "action", "text": "INT. and EXT. blur together in the spray."},
        {
            "type": "dialogue",
            "character": "ORIN",
            "parenthetical": None,
            "line": "(shouting) The ferry won't cross tonight, Mara!",
        },
        {
            "type": "dialogue",
            "character": "Mara",
            "parenthetical": "beat",
            "line": f"{SCRIPT} Is that all you came to say?",
        },
        {"type": "action", "text": "THE BELL RINGS."},
        {"type": "dialogue", "character": "FISHERMAN", "parenthetical": None, "line": "Aye."},
        {"type": "transition", "text": "FADE TO BLACK."},
    ],
    [
        {"type": "dialogue", "character": "ILSE", "parenthetical": None, "line": "It wants home."},
        {"type": "dialogue", "character": "MARA VOSS", "parenthetical": None, "line": "Then go."},
    ],
    [
        {"type": "action", "text": "Dawn. The sea is flat as a plate."},
        {
            "type": "dialogue",
            "character": "ORIN (O.S.)",
            "parenthetical": None,
            "line": "Mara! Come and see!",
        },
        {"type": "transition", "text": "FADE OUT."},
    ],
]
CHAIN_YAML = """\
name: dramatron-mini
inputs:
  logline: {type: string}
models:
  default: {provider: fake}
steps:
  title: {prompt: {text: "A title for: {{ logline }}"}}
  characters: {prompt: {text: "Characters for: {{ logline }}"}, parse: json}
  plot: {prompt: {text: "Scenes with {{ characters | length }} characters"}, parse: json}
  places:
    for_each: "plot | map(attribute='place') | unique | list"
    as: place
    prompt: {text: "Describe {{ place }} for: {{ logline }}"}
  dialogue:
    for_each: plot
    as: scene
    prompt: {text: "Dialogue at {{ scene.place }}: {{ scene.beat }}"}
    parse: json
  portraits:
    kind: image
    for_each: characters
    as: character
    prompt: {text: "Portrait of {{ character.description }}"}
  illustrations:
    kind: image
    for_each: "plot | map(attribute='place') | unique | list"
    as: place
    prompt: {text: "{{ place }}, ink and watercolour"}
exports:
  - {type: screenplay, options: {author: Test Writer}}
"""
STEPS = ("title", "characters", "plot", "places", "dialogue", "portraits", "illustrations")


def png(colour: tuple[int, int, int], size: tuple[int, int] = (96, 64)) -> bytes:
    img = Image.new("RGB", size, colour)
    ImageDraw.Draw(img).ellipse((8, 8, size[0] - 8, size[1] - 8), fill=(250, 240, 220))
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


def _write(path: Path, data: str | bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(data, bytes):
        path.write_bytes(data)
    else:
        path.write_text(data, encoding="utf-8")


def _images(run: Path, step: str, n: int, size: tuple[int, int]) -> list[dict[str, Any]]:
    out = []
    for i in range(n):
        rel = f"steps/{step}/{i}.png"
        _write(run / rel, png((40 + 60 * i, 90, 140 - 30 * i), size))
        out.append({"image": rel, "prompt": f"{step} {i}", "mime": "image/png", "seed": i})
    return out


def make_run(
    root: Path,
    outputs: dict[str, Any] | None = None,
    *,
    images: bool = True,
    status: dict[str, str] | None = None,
) -> Path:
    """A finished run folder ``root/run`` holding the scripted outputs (``outputs`` replaces
    some; a value ``None`` leaves the step out); ``status`` sets a step's status."""
    run = root / "run"
    data: dict[str, Any] = {
        "title": TITLE,
        "characters": CHARACTERS,
        "plot": PLOT,
        "places": PLACES,
        "dialogue": DIALOGUE,
    }
    if images:
        data["portraits"] = _images(run, "portraits", len(CHARACTERS), (64, 64))
        data["illustrations"] = _images(run, "illustrations", len(PLACES), (120, 80))
    data.update(outputs or {})
    t0 = time.time() - 50  # ends after the files are written: none looks edited
    steps = {}
    for n, (sid, value) in enumerate((k, v) for k, v in data.items() if v is not None):
        state = (status or {}).get(sid, "done")
        steps[sid] = {
            "status": state,
            "kind": "image" if sid in ("portraits", "illustrations") else "text",
            "model": "default",
            "started": t0 + 10 * n,
            "ended": t0 + 10 * n + 4.5,
            "attempts": 1,
            "usage": {"input_tokens": 100, "output_tokens": 40, "total_tokens": 140, "calls": 1},
        }
        if state == "done":
            steps[sid]["output"] = f"steps/{sid}.json"
            _write(run / f"steps/{sid}.json", json.dumps({"step": sid, "output": value}))
        else:
            steps[sid]["error"] = {"type": "ModelError", "message": "the model gave up"}
        if isinstance(value, list) and sid not in ("characters", "plot"):
            for i in range(len(value)):
                _write(run / f"prompts/{sid}/{i}.txt", f"Prompt for {sid} item {i}.\n")
        else:
            _write(run / f"prompts/{sid}.txt", f"Prompt for {sid}.\n```\nfenced\n```\n")
    manifest = {
        "dramaturg": "0.1.0",
        "run_id": "run",
        "status": "done",
        "chain": {"name": "dramatron", "file": "chains/dramatron.yaml", "hash": "abc123"},
        "started": t0,
        "ended": t0 + 100,
        "inputs": {"logline": LOGLINE, "structure": "freytag"},
        "models": {"default": {"provider": "cohere", "model": "command-a", "api_key": "sk-XYZ"}},
        "settings": {"concurrency": 4, "dry_run": False},
        "outputs": list(steps),
        "usage": {"input_tokens": 500, "output_tokens": 200, "total_tokens": 700, "calls": 5},
        "steps": steps,
    }
    _write(run / "manifest.json", json.dumps(manifest, indent=2))
    _write(run / "chain.yaml", CHAIN_YAML)
    return run


def loaded(root: Path, **kwargs: Any) -> RunResult:
    return load_run(make_run(root, **kwargs))


def run_chain(root: Path, **models: Any) -> RunResult:
    """The scripted outputs produced by a tiny chain on FakeChatModel / FakeImageModel."""
    chain_file = root / "chains" / "dramatron-mini.yaml"
    _write(chain_file, CHAIN_YAML)
    fake = FakeChatModel(
        responses={
            "title": TITLE,
            "characters": json.dumps(CHARACTERS),
            "plot": json.dumps(PLOT),
            "places": PLACES,
            "dialogue": [json.dumps(d) for d in DIALOGUE],
        }
    )
    return load_chain(chain_file).run(
        {"logline": LOGLINE},
        models={"default": fake, "images": FakeImageModel(size=(48, 32)), **models},
        out=root / "outputs",
    )
