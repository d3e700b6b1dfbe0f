"""The offline default illustrator: a drawn placeholder made from the prompt's words.

``sketch`` is what an image step uses when a chain declares no ``images`` model. It is *not* a
generative model: it draws, with Pillow only (no network, no weights), a stylised storyboard
card from the prompt text and prints the prompt under it with a "drawn placeholder - not
AI-generated" mark.

* The palette is hashed from the prompt and tuned by its mood words (night, dusk, dawn, storm,
  snow, fog); the motifs are chosen by keywords: sea/harbour -> waves, lighthouse, boats, a
  quay; night -> moon and stars; forest -> trees; city/street -> buildings and a road;
  ``INT.``/room/kitchen -> a wall with a window and a door; fire, mountains, desert, rain,
  snow, fog, people; a portrait prompt -> a head-and-shoulders silhouette; anything else ->
  abstract landscape layers.
* The same prompt and seed give byte-identical files. A different seed redraws the composition
  with the same palette and the same caption; a different prompt changes everything.
* Options honoured: ``width``/``height``, else ``aspect_ratio`` (long side 768), else 768x768 for
  portraits and 768x512 for scenes; ``output_format`` png, jpeg or webp; ``style_preset`` (noir,
  sepia, watercolor, pastel, neon-punk, pixel-art, line-art, cinematic, ...; style words in the
  prompt count too); ``negative_prompt`` (a motif named there is left out); ``extra``:
  ``long_side`` (int), ``caption`` (false to hide it, or the text to print), ``style``.

The modules, one job each: ``words`` (keywords -> motifs), ``palette`` (colours), ``canvas``
(the drawing surface), ``sky``, ``land``, ``sea``, ``flames``, ``interior``, ``sitter`` and
``figures`` (the motifs and people), ``scene`` (the composition), ``style`` (the presets),
``caption`` (the card and its text) and ``model`` (sizes, formats and the entry points).
"""

from __future__ import annotations

from .model import SketchImageModel, render_sketch, sketch_image

__all__ = ["SketchImageModel", "render_sketch", "sketch_image"]
