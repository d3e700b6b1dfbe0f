"""Co-writing the Dramatron chain: after an edit (or a template change) a rerun makes exactly the
model calls whose inputs changed, counted on the fake models, with the step cache off (what is
kept comes from the run folder itself).

Dramatron's context, as in chains/dramatron.yaml: the dialogue of scene k+1 also reads the beat of
scene k ("Previous beat"). So editing the LAST scene's beat changes one dialogue prompt, while
editing a middle scene's beat changes the dialogue of that scene and of the next one."""

from __future__ import annotations

import copy
import shutil
from pathlib import Path
from typing import Any

import pytest

import dramaturg
from dramaturg import FakeChatModel, FakeImageModel, load_chain

ROOT = Path(__file__).resolve().parents[2]
LOGLINE = "A lighthouse keeper who collects storms in jars discovers one of them is alive."


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A copy of the Dramatron chain and its templates, to edit templates freely."""
    (tmp_path / "chains").mkdir()
    shutil.copy(ROOT / "chains" / "dramatron.yaml", tmp_path / "chains")
    shutil.copytree(ROOT / "prompts" / "dramatron", tmp_path / "prompts" / "dramatron")
    return tmp_path / "chains" / "dramatron.yaml"


class Models:
    """Fresh fakes for one run or rerun; what they were asked."""

    def __init__(self) -> None:
        self.text = FakeChatModel()
        self.images = FakeImageModel()

    def as_dict(self) -> dict[str, Any]:
        return {"default": self.text, "images": self.images}

    def calls(self) -> list[tuple[str | None, int | None]]:
        return sorted((c.step, c.item) for c in self.text.calls)

    def steps(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for step, _ in self.calls():
            out[str(step)] = out.get(str(step), 0) + 1
        return out


def first_run(chain: Path, **inputs: Any) -> tuple[Path, Models]:
    models = Models()
    result = load_chain(chain).run(
        {"logline": LOGLINE, "num_scenes": 4, **inputs},
        models=models.as_dict(),
        out=chain.parent.parent / "out",
        cache=False,
    )
    assert result.ok, [(s.id, s.error) for s in result.failed_steps()]
    assert result.run_dir is not None
    return result.run_dir, models


def rerun(run_dir: Path, **kw: Any) -> tuple[Any, Models]:
    models = Models()
    result = dramaturg.rerun(run_dir, models=models.as_dict(), cache=False, **kw)
    assert result.ok, [(s.id, s.error) for s in result.failed_steps()]
    return result, models


def prompts(run_dir: Path) -> dict[str, str]:
    """Every prompt the run folder holds, by its file (``dialogue/3.txt``)."""
    root = run_dir / "prompts"
    return {str(p.relative_to(root)): p.read_text() for p in root.rglob("*.txt")}


def changed_prompts(before: dict[str, str], after: dict[str, str]) -> set[str]:
    return {name for name, text in after.items() if before.get(name) != text}


def test_an_unchanged_rerun_calls_no_model(project):
    run_dir, first = first_run(project)
    result, again = rerun(run_dir)
    assert again.calls() == [] and again.images.requests == []
    assert first.steps()["dialogue"] == 4
    assert result.usage.calls == 0
    assert sum(s.resumed for s in result.steps.values()) == len(first.calls()) + len(
        first.images.requests
    )
    assert dramaturg.load_run(run_dir).outputs == result.outputs


def edit_beat(run_dir: Path, scene: int) -> None:
    plot = copy.deepcopy(dramaturg.load_run(run_dir)["plot"])
    plot[scene]["beat"] = "Wren smashes the last jar and the storm fills the lamp room."
    dramaturg.edit_step(run_dir, "plot", plot)


def test_editing_the_last_scene_beat_recomputes_exactly_its_dialogue(project):
    run_dir, _ = first_run(project)
    before = prompts(run_dir)
    edit_beat(run_dir, 3)
    result, models = rerun(run_dir)
    assert models.calls() == [("dialogue", 3)]
    assert models.images.requests == []  # illustrations are per place here: none changed
    assert changed_prompts(before, prompts(run_dir)) == {"dialogue/3.txt"}
    assert result["plot"][3]["beat"].startswith("Wren smashes")
    # the exports were rebuilt with the new scene
    assert "Wren smashes the last jar" in (run_dir / "screenplay.fountain").read_text()


def test_editing_a_middle_scene_beat_recomputes_that_scene_and_the_next(project):
    """Scene 2's beat is also scene 3's "Previous beat": both dialogues change, nothing else."""
    run_dir, _ = first_run(project)
    before = prompts(run_dir)
    edit_beat(run_dir, 1)
    _, models = rerun(run_dir)
    assert models.calls() == [("dialogue", 1), ("dialogue", 2)]
    assert models.images.requests == []
    assert changed_prompts(before, prompts(run_dir)) == {"dialogue/1.txt", "dialogue/2.txt"}


def test_with_an_illustration_per_scene_its_illustration_is_recomputed_too(project):
    run_dir, _ = first_run(project, illustrate="scenes")
    before = prompts(run_dir)
    edit_beat(run_dir, 3)
    _, models = rerun(run_dir)
    assert models.calls() == [("dialogue", 3)]
    (request,) = models.images.requests
    assert "Wren smashes the last jar" in request.prompt
    assert changed_prompts(before, prompts(run_dir)) == {
        "dialogue/3.txt",
        "illustrations/3.txt",
    }


def test_editing_the_characters_recomputes_plot_dialogue_and_portraits_not_the_title(project):
    run_dir, first = first_run(project)
    characters = copy.deepcopy(dramaturg.load_run(run_dir)["characters"])
    edited = characters[0]["name"]
    characters[0]["description"] = f"{edited} is a retired sailor who hears voices in the jars."
    dramaturg.edit_step(run_dir, "characters", characters)
    before_images = len(first.images.requests)
    assert before_images > 0
    result, models = rerun(run_dir)
    steps = models.steps()
    assert "title" not in steps and "characters" not in steps
    assert steps["plot"] == len(result["plot"])  # one call per scene
    assert steps["dialogue"] == len(result["plot"])
    # one portrait per character: only the edited character's prompt changed
    portraits = [r.prompt for r in models.images.requests if r.prompt.startswith("Portrait")]
    assert len(portraits) == 1 and "retired sailor" in portraits[0]
    assert result["characters"][0]["description"].endswith("voices in the jars.")


@pytest.mark.parametrize(
    ("template", "expected", "prompts_change"),
    [
        # a place description feeds the dialogue and the illustrations (one per place)
        ("place.j2", {"places", "dialogue", "illustrations"}, True),
        # no step reads the title
        ("title.j2", {"title"}, True),
        # included by dialogue.j2 in a branch this run does not take (`examples`): the
        # dialogue's calls are made again, their prompts and answers are the same, and so
        # nothing downstream is
        ("dialogue_example.j2", {"dialogue"}, False),
    ],
)
def test_editing_one_template_recomputes_exactly_its_step_and_descendants(
    project, template, expected, prompts_change
):
    run_dir, first = first_run(project)
    before = prompts(run_dir)
    path = project.parent.parent / "prompts" / "dramatron" / template
    text = path.read_text()
    path.write_text(text + "Be vivid.\n" if prompts_change else text.replace("{#", "{# v2:", 1))
    _, models = rerun(run_dir)
    made = set(models.steps()) | ({"illustrations"} if models.images.requests else set())
    assert made == expected
    for step in expected & set(first.steps()):  # every call of those steps
        assert models.steps()[step] == first.steps()[step]
    changed = {
        name.split("/")[0].removesuffix(".txt")
        for name in changed_prompts(before, prompts(run_dir))
    }
    assert changed == (expected if prompts_change else set())
    # the run keeps the templates it now ran with (a later resume uses them)
    assert (run_dir / "templates" / template).read_text() == path.read_text()
