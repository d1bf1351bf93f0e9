"""Headings of the dashboard: the header's title and the section headings.

Both must follow the language switch without a page reload, which would lose a
half-filled form. Panel writes a template's title into the page's HTML once, so
``PageTitle`` sets the header text and the browser tab's title in the browser.
A Markdown pane drew ``###`` at the browser's size (14 px) on the first render
and at Bootstrap's (28 px) once its text changed, so switching the language made
every section heading twice as large. Sizes set on the pane apply in both cases.
"""

from __future__ import annotations

import panel as pn
import param
from panel.custom import JSComponent

HEADING_CSS = """
h3 { font-size: 17px; font-weight: 600; margin: 8px 0 4px; }
h4 { font-size: 14px; font-weight: 600; margin: 6px 0 2px; }
"""

SECTION_MARGIN = (10, 10, 0, 10)


def heading(margin: tuple[int, ...] = SECTION_MARGIN, **params) -> pn.pane.Markdown:
    """Return an empty Markdown pane for a ``###`` or ``####`` heading."""
    return pn.pane.Markdown("", margin=margin, stylesheets=[HEADING_CSS], **params)


class PageTitle(JSComponent):
    """An invisible component that keeps the header and tab title at ``text``."""

    text = param.String(default="")

    # BootstrapTemplate draws the title as ``<a class="title">`` in the header,
    # outside every component, with a no-break space before the text.
    _esm = """
    export function render({ model }) {
      const apply = () => {
        document.title = model.text;
        const header = document.querySelector("a.title");
        if (header) {
          header.textContent = "\\u00a0" + model.text;
        }
      };
      apply();
      model.on("text", apply);
      return document.createElement("span");
    }
    """

    def __init__(self, **params):
        params.setdefault("width", 0)
        params.setdefault("height", 0)
        params.setdefault("margin", 0)
        super().__init__(**params)
