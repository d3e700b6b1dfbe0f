"""The studio in a real browser (Debian's chromium): what a writer does, click by click, on dry
runs of the Dramatron chain. Every page is guarded: no request leaves the studio's address and
no Content-Security-Policy violation occurs (browser.Guard)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from browser import Served, guarded_page, served
from studio_site import streaming_fake

from dramaturg.studio.app import Studio
from dramaturg.studio.workspace import Workspace

pytestmark = pytest.mark.asyncio(loop_scope="session")


def answer_of(record: Path) -> tuple[str, str]:
    """An item's answer as the model gave it and as kept (the record's times aside)."""
    data = json.loads(record.read_text())
    return data["raw"], json.dumps(data["output"], sort_keys=True)


def output(run: Path, step: str) -> Any:
    return json.loads((run / "steps" / f"{step}.json").read_text())["output"]


@pytest.fixture
def run(runs: Callable[[], Path]) -> Path:
    return runs()


@pytest_asyncio.fixture(loop_scope="session")
async def site(run: Path) -> AsyncIterator[Served]:
    workspace, _ = Workspace.at(run.parent)
    with served(Studio(workspace)) as s:
        yield s


@asynccontextmanager
async def on_run(chromium: Any, site: Served, run: Path) -> AsyncIterator[Any]:
    """A guarded page, signed in with the token, on the run's page."""
    async with guarded_page(chromium, site) as (p, _guard):
        await p.goto(site.url)
        await p.get_by_role("link", name=run.name).click()
        await p.wait_for_selector(".step-panel")
        yield p


@pytest_asyncio.fixture(loop_scope="session")
async def page(chromium: Any, site: Served, run: Path) -> AsyncIterator[Any]:
    async with on_run(chromium, site, run) as p:
        yield p


async def settled(page: Any) -> None:
    """htmx has swapped and settled the last answer (its new elements listen to input)."""
    await page.wait_for_function(
        "() => !document.querySelector('.htmx-request, .htmx-swapping, .htmx-settling')"
    )


async def open_item(page: Any, step: str, item: int) -> None:
    """Click the navigator's link to ``step`` of scene ``item`` (0-based) and wait for it."""
    links = (
        page.locator(f"#item-{item} > a")
        if step == "plot"
        else page.locator(f"#item-{item} a.sub", has_text=step)
    )
    await links.first.click()
    await page.wait_for_selector(f".step-panel[data-step='{step}'][data-item='{item}']")
    await settled(page)


async def open_step(page: Any, step: str) -> None:
    await page.locator(".steps a", has_text=step).first.click()
    await page.wait_for_selector(f".step-panel[data-step='{step}']:not([data-item])")
    await settled(page)


async def test_a_run_opens_on_its_steps_scenes_and_screenplay(page: Any, run: Path) -> None:
    steps = await page.locator(".steps .name").all_text_contents()
    assert steps == [
        "title",
        "characters",
        "plot",
        "places",
        "dialogue",
        "portraits",
        "illustrations",
    ]
    scenes = page.locator(".items > li")
    assert await scenes.count() == 4
    first = output(run, "plot")[0]
    assert first["beat"] in await scenes.first.text_content()
    assert first["place"] in await scenes.first.text_content()
    frame = page.frame_locator("#preview iframe")
    title = output(run, "title")
    await frame.get_by_text(title.upper()).first.wait_for()
    downloads = await page.locator(".downloads a").all_text_contents()
    assert "screenplay.fdx" in downloads and "screenplay.pdf" in downloads


async def test_a_broken_edit_is_shown_where_it_is_and_nothing_is_saved(
    page: Any, run: Path
) -> None:
    await open_item(page, "plot", 2)
    before = (run / "steps" / "plot.json").read_bytes()
    editor = page.locator("#editor-text")
    await editor.fill("place: [no end\nbeat: x\n")
    error = page.locator("#check .error")
    await error.wait_for()
    assert "plot:2:" in await error.text_content()  # step:line:column
    await page.get_by_role("button", name="Save as a new version").click()
    await page.locator("#check .error").wait_for()
    assert (run / "steps" / "plot.json").read_bytes() == before
    assert await page.locator(".history tbody tr").count() == 1


async def test_an_edit_saves_a_version_and_marks_what_it_makes_stale(page: Any, run: Path) -> None:
    await open_item(page, "plot", 2)
    editor = page.locator("#editor-text")
    text = await editor.input_value()
    await editor.fill(text.replace("beat: ", "beat: The storm breaks its bottle. ", 1))
    await page.locator("#check .ok").wait_for()
    await page.get_by_role("button", name="Save as a new version").click()
    await page.wait_for_function("() => document.querySelectorAll('.history tbody tr').length == 2")
    await settled(page)
    assert output(run, "plot")[2]["beat"].startswith("The storm breaks its bottle.")
    row = page.locator(".history tbody tr").first
    assert "EDIT" in await row.text_content() and "current" in await row.text_content()
    badges = dict(
        zip(
            await page.locator(".steps .name").all_text_contents(),
            await page.locator(".steps .badge").all_text_contents(),
            strict=True,
        )
    )
    assert badges["dialogue"] == "stale" and badges["title"] == "done"
    assert await page.locator("#item-2 .b-edited").count() == 1


async def test_diff_and_restore_a_version_which_survives_a_reload(page: Any, run: Path) -> None:
    await open_step(page, "title")
    old = output(run, "title")
    await page.locator("#editor-text").fill("The Last Bottled Storm")
    await page.locator("#check .ok").wait_for()
    await page.get_by_role("button", name="Save as a new version").click()
    await page.wait_for_function("() => document.querySelectorAll('.history tbody tr').length == 2")
    await settled(page)
    await page.get_by_role("button", name="Compare a and b").click()
    diff = page.locator("table.diff")
    await diff.wait_for()
    assert "The Last Bottled Storm" in await diff.locator(".d-add").text_content()
    assert old in await diff.locator(".d-del").text_content()
    await page.get_by_role("button", name="Restore").click()
    await page.wait_for_function(  # the edit stays in the history; version 1 is current
        "() => document.querySelectorAll('.history tbody tr')[1].textContent.includes('(current)')"
    )
    assert output(run, "title") == old
    await page.reload()
    await page.wait_for_selector(".step-panel[data-step='title']")
    assert (
        await page.locator("#editor-text").input_value() == old + "\n"
        or (await page.locator("#editor-text").input_value()).strip() == old
    )


async def test_hostile_model_text_stays_text_in_the_browser(page: Any, run: Path) -> None:
    await open_step(page, "title")
    hostile = "<script>alert(1)</script><img src=x onerror=alert(2)>"
    await page.locator("#editor-text").fill(hostile)
    await page.locator("#check .ok").wait_for()
    dialogs: list[str] = []
    page.on("dialog", lambda d: dialogs.append(d.message))
    await page.get_by_role("button", name="Save as a new version").click()
    await page.wait_for_function("() => document.querySelectorAll('.history tbody tr').length == 2")
    await settled(page)
    await page.reload()
    await page.wait_for_selector(".step-panel[data-step='title']")
    assert (
        await page.locator("#editor-text").input_value() == hostile + "\n"
        or (await page.locator("#editor-text").input_value()).strip() == hostile
    )
    assert await page.locator("img[src='x']").count() == 0
    assert dialogs == []


@pytest_asyncio.fixture(loop_scope="session")
async def slow_site(streamed: Path) -> AsyncIterator[Served]:
    """A studio on a run of the streaming fake, whose calls now take their time (a job is seen
    running, its tokens arrive one by one)."""
    workspace, _ = Workspace.at(streamed.parent)
    studio = Studio(workspace, models={"default": streaming_fake(0.2, 0.04)})
    with served(studio) as s:
        yield s


@pytest_asyncio.fixture(loop_scope="session")
async def slow_page(chromium: Any, slow_site: Served, streamed: Path) -> AsyncIterator[Any]:
    async with on_run(chromium, slow_site, streamed) as p:
        yield p


async def job_ends(page: Any, what: str) -> str:
    """Wait for the job whose label holds ``what`` to end; its line (what: done / stopped)."""
    await page.wait_for_function(
        """(what) => { const job = document.querySelector('#job');
          return !job.classList.contains('job-running')
            && job.textContent.includes(what + ':'); }""",
        arg=what,
        timeout=60_000,
    )
    return str(await page.locator("#job").text_content())


async def test_regenerating_one_scene_changes_that_scene_only(
    slow_page: Any, streamed: Path
) -> None:
    page = slow_page
    before = output(streamed, "dialogue")
    await open_item(page, "dialogue", 1)
    await page.get_by_role("button", name="Regenerate this one").click()
    assert "done" in await job_ends(page, "regenerating dialogue 2")
    after = output(streamed, "dialogue")
    assert after[1] != before[1]
    assert [after[i] for i in (0, 2, 3)] == [before[i] for i in (0, 2, 3)]
    # the panel reads the scene again by itself: the new version, with its new seed
    await page.wait_for_function(
        "() => document.querySelector('.history tbody tr').textContent.includes('RERUN')"
    )
    first = page.locator(".history tbody tr").first
    assert "(current)" in await first.text_content()
    seed = await first.locator("td").nth(3).text_content()
    assert seed and f"seed {seed}" in await page.locator(".step-panel .meta").text_content()
    assert await page.locator("#editor-text").input_value() != ""


async def test_two_clicks_at_once_make_one_job_and_one_busy_answer(
    slow_page: Any, streamed: Path
) -> None:
    page = slow_page
    await open_item(page, "dialogue", 0)
    answers: list[tuple[int, str]] = []

    async def note(response: Any) -> None:
        if response.url.endswith(("/regenerate", "/continue")):
            answers.append((response.status, await response.text()))

    page.on("response", note)
    await page.evaluate(  # both buttons in the same moment
        "() => { for (const name of ['Regenerate this one', 'Continue']) {"
        " [...document.querySelectorAll('button')].find(b => b.textContent.trim() === name)"
        ".click(); } }"
    )
    await page.wait_for_function("() => true")
    for _ in range(100):
        if len(answers) == 2:
            break
        await page.wait_for_timeout(50)
    assert sorted(status for status, _ in answers) == [202, 409]
    busy = next(text for status, text in answers if status == 409)
    assert "busy" in busy and "regenerating dialogue 1" in busy
    await job_ends(page, "regenerating dialogue 1")
    await open_item(page, "dialogue", 0)
    kinds = await page.locator(".history tbody td:nth-child(2)").all_text_contents()
    assert kinds.count("RERUN") == 1 and "CONTINUE" not in kinds


async def test_a_stopped_regenerate_is_finished_later(slow_page: Any, streamed: Path) -> None:
    page = slow_page
    before = output(streamed, "dialogue")
    await open_step(page, "dialogue")
    await page.get_by_role("button", name="Regenerate", exact=True).click()
    await page.locator("#job.job-running").wait_for()
    await page.get_by_role("button", name="Stop").click()
    assert "stopped" in await job_ends(page, "regenerating dialogue")
    assert (streamed / "versions" / "rerun.json").exists()  # the stopped rerun, to finish
    await page.reload()
    await page.get_by_role("button", name="Finish it").click()
    assert "done" in await job_ends(page, "finishing the stopped regenerate")
    assert all(a != b for a, b in zip(output(streamed, "dialogue"), before, strict=True))
    assert not (streamed / "versions" / "rerun.json").exists()


async def test_continue_the_characters(slow_page: Any, streamed: Path) -> None:
    page = slow_page
    before = output(streamed, "characters")
    await open_step(page, "characters")
    await page.get_by_role("button", name="Continue").click()
    assert "done" in await job_ends(page, "continuing characters")
    after = output(streamed, "characters")
    assert after[: len(before)] == before and len(after) > len(before)
    await open_step(page, "characters")
    assert "CONTINUE" in await page.locator(".history tbody tr").first.text_content()


async def test_the_keyboard_alone_reaches_a_scene_and_regenerates_it(
    slow_page: Any, streamed: Path
) -> None:
    page = slow_page
    assert await page.locator("#live[aria-live='polite']").count() == 1
    before = output(streamed, "dialogue")
    for _ in range(60):  # Tab until the link to scene 4's dialogue has the focus
        await page.keyboard.press("Tab")
        focused = await page.evaluate(
            "() => document.activeElement && document.activeElement.getAttribute('hx-get')"
        )
        if focused and focused.endswith("/step/dialogue?item=3"):
            break
    else:
        pytest.fail("Tab never reached scene 4's dialogue")
    await page.keyboard.press("Enter")
    await page.wait_for_selector(".step-panel[data-step='dialogue'][data-item='3']")
    await settled(page)
    for _ in range(80):
        await page.keyboard.press("Tab")
        label = await page.evaluate("() => document.activeElement.textContent.trim()")
        if label == "Regenerate this one":
            break
    else:
        pytest.fail("Tab never reached the regenerate button")
    await page.keyboard.press("Enter")
    assert "done" in await job_ends(page, "regenerating dialogue 4")
    assert output(streamed, "dialogue")[3] != before[3]


async def test_an_edit_of_scene_3_shows_recomputes_and_streams_scenes_3_and_4(
    slow_page: Any, streamed: Path
) -> None:
    page = slow_page
    before = output(streamed, "dialogue")
    files = [streamed / "steps" / "dialogue" / f"{i}.json" for i in range(4)]
    kept = [answer_of(f) for f in files[:2]]
    await open_item(page, "plot", 2)
    editor = page.locator("#editor-text")
    text = await editor.input_value()
    await editor.fill(text.replace("beat: ", "beat: The last storm breaks its bottle. ", 1))
    plan = page.locator("#check .plan")
    await plan.wait_for()
    assert await plan.text_content() == "dialogue of scenes 3 and 4"
    assert output(streamed, "dialogue") == before  # planned, nothing called
    await page.get_by_role("button", name="Save as a new version").click()
    await page.wait_for_function("() => document.querySelectorAll('.history tbody tr').length == 2")
    await settled(page)
    stale = await page.locator(".items > li.stale .num").all_text_contents()
    assert stale == ["3", "4"]
    # tokens arrive in the boxes of scenes 3 and 4 while the job runs
    await page.get_by_role("button", name="Recompute them").click()
    await page.locator("#job.job-running").wait_for()
    await page.wait_for_function(
        "() => document.querySelector('#job').classList.contains('job-running')"
        " && document.querySelector('#stream-dialogue-3')"
        " && document.querySelector('#stream-dialogue-3').textContent.length > 0",
        timeout=30_000,
    )
    assert await page.locator("#stream-dialogue-0").count() == 0
    assert await page.locator("#step-dialogue .badge").text_content() == "running"
    assert "done" in await job_ends(page, "recomputing what is out of date")
    after = output(streamed, "dialogue")
    assert after[:2] == before[:2] and after[2] != before[2] and after[3] != before[3]
    assert [answer_of(f) for f in files[:2]] == kept  # scenes 1 and 2: the same answers
    streamed_text = await page.locator("#stream-dialogue-2").text_content()
    raw = json.loads((streamed / "steps" / "dialogue" / "2.json").read_text())["raw"]
    assert streamed_text == raw
    first_line = after[2][0]["line"]
    await page.frame_locator("#preview iframe").get_by_text(first_line).first.wait_for()
    assert await page.locator(".items > li.stale").count() == 0
    # the exact prompt behind scene 4's new dialogue: it holds scene 3's new beat
    await open_item(page, "dialogue", 3)
    prompt = (streamed / "prompts" / "dialogue" / "3.txt").read_text()
    assert "The last storm breaks its bottle." in prompt
    shown = await page.locator("details.prompt pre").text_content()
    assert shown is not None and shown.strip() == prompt.strip()


async def test_a_new_run_from_a_logline(chromium: Any, tmp_path: Path) -> None:
    from conftest import DRAMATRON

    out = tmp_path / "new-runs"
    out.mkdir()
    workspace, _ = Workspace.at(out, (DRAMATRON,))
    with served(Studio(workspace)) as site:
        async with guarded_page(chromium, site) as (page, _guard):
            await page.goto(site.url)
            form = page.locator("section.new form")
            await form.locator("textarea[name='logline']").fill(
                "A cartographer maps a city that redraws itself every night."
            )
            await form.locator("input[name='num_scenes']").fill("3")
            await form.locator("select[name='structure']").select_option("three_act")
            await form.locator("input[name='dry_run']").check()
            await form.get_by_role("button", name="Write it").click()
            await page.wait_for_url("**/runs/*")
            assert "done" in await job_ends(page, "writing a new run")
            (run,) = [p for p in out.iterdir() if p.is_dir()]
            manifest = json.loads((run / "manifest.json").read_text())
            assert manifest["inputs"]["num_scenes"] == 3
            assert manifest["inputs"]["structure"] == "three_act"
            assert manifest["status"] == "done"
            await page.reload()
            assert await page.locator(".items > li").count() == 3


async def test_regenerating_one_portrait_draws_that_one_again(
    slow_page: Any, streamed: Path
) -> None:
    page = slow_page
    images = streamed / "steps" / "portraits"
    before = {p.name: p.read_bytes() for p in images.glob("*.png")}
    await page.locator(".steps a", has_text="portraits").first.click()
    await page.wait_for_selector(".step-panel[data-step='portraits']")
    assert await page.locator(".images img").count() == len(before)
    await page.goto(
        page.url.split("?")[0].replace("/step/portraits", "") + "?step=portraits&item=0"
    )
    await page.wait_for_selector(".step-panel[data-step='portraits'][data-item='0']")
    old_src = await page.locator(".images img").get_attribute("src")
    await settled(page)
    await page.get_by_role("button", name="Regenerate this one").click()
    assert "done" in await job_ends(page, "regenerating portraits 1")
    await page.wait_for_function(
        "(old) => document.querySelector('.images img').getAttribute('src') !== old", arg=old_src
    )
    after = {p.name: p.read_bytes() for p in images.glob("*.png")}
    assert after["0.png"] != before["0.png"]
    assert {k: v for k, v in after.items() if k != "0.png"} == {
        k: v for k, v in before.items() if k != "0.png"
    }
    await page.wait_for_function(  # the new picture is drawn on the page
        "() => { const img = document.querySelector('.images img');"
        " return img.complete && img.naturalWidth > 0; }"
    )


async def test_the_browser_gets_nothing_without_the_token_or_the_header(
    chromium: Any, site: Served, run: Path
) -> None:
    context = await chromium.new_context()
    try:
        page = await context.new_page()
        refused = await page.goto(f"{site.base}/runs/{run.name}")  # no token, no cookie
        assert refused is not None and refused.status == 403
        signed = await page.goto(site.url)
        assert signed is not None and signed.status == 200
        assert "token=" not in page.url  # the token left the address bar
        status = await page.evaluate(  # a change without the page's header
            """(url) => fetch(url, {method: 'POST', body: '{"text": "x"}'}).then(r => r.status)""",
            f"{site.base}/runs/{run.name}/step/title/edit",
        )
        assert status == 403
        escaped = await page.goto(f"{site.base}/runs/{run.name}/files/..%2fmanifest.json")
        assert escaped is not None and escaped.status == 404
        cookies = await context.cookies()
        assert [(c["httpOnly"], c["sameSite"]) for c in cookies] == [(True, "Strict")]
    finally:
        await context.close()
