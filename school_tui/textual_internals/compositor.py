"""A Textual compositor that draws, for a partial update, only what can show in it.

Textual 8.2's `Compositor._render_chops` asks every visible widget whose *clip* (its
container's area) touches the update for all of its lines, then throws away what is outside
the update or behind a widget in front. For a chat message that scrolls the message pane,
that is the whole screen: the title bar, the footer, the compose box, the conversation list's
column and the three containers behind the pane, every line of each (from their caches, but
each line still filtered and cut), about as much work as drawing the pane itself.

This one draws the same picture with less: a widget whose visible area does not touch the
update is skipped; one whose part of the update lies inside a widget in front of it (painted
first, front to back, and always opaque: the first strip for a cut wins) is skipped; the
rest render only the lines of the update. What reaches the terminal is unchanged: the
chops inside the update's spans are the same strips, and nothing outside the spans is
written (`ChopsUpdate.render_segments`).

`set_virtual_size` is the other half of an arriving message drawing little: it grows a
scrolling widget's content without laying out the whole screen.

Both fall back to Textual's own behaviour when the start-up check (this package's
`__init__`) finds a Textual they were not written for.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import cast

from textual._compositor import Compositor
from textual.geometry import Region, Size
from textual.screen import Screen
from textual.strip import Strip
from textual.widget import Widget

from school_tui import textual_internals


def use_cropping_compositor(screen: Screen[object]) -> None:
    """From a Screen's `__init__`: draw it with CroppingCompositor (stock if fenced off)."""
    if textual_internals.active():
        screen._compositor = CroppingCompositor()


def set_virtual_size(widget: Widget, size: Size) -> None:
    """Set `widget.virtual_size` when only its content and scrollbar change: setting the
    reactive lays out the whole screen (it is declared layout=True). This sets it quietly
    and updates the scrollbars' window (Textual's own helper); should a scrollbar's
    visibility change anyway, the screen is laid out as usual."""
    if size == widget.virtual_size:
        return
    if not textual_internals.active():
        widget.virtual_size = size  # stock: a layout
        return
    shown = (widget.show_vertical_scrollbar, widget.show_horizontal_scrollbar)
    widget.set_reactive(Widget.virtual_size, size)
    widget._scroll_update(size)
    if (widget.show_vertical_scrollbar, widget.show_horizontal_scrollbar) != shown:
        widget.refresh(layout=True)


class CroppingCompositor(Compositor):
    def _render_chops(
        self, crop: Region, is_rendered_line: Callable[[int], bool]
    ) -> Sequence[Mapping[int, Strip]]:
        cuts = self.cuts
        chops: list[dict[int, Strip | None]] = [dict.fromkeys(cut_set[:-1]) for cut_set in cuts]
        intersection = Region.intersection
        in_front: list[Region] = []  # what widgets already painted cover (front to back)
        for widget, (region, clip) in self.visible_widgets.items():
            render_region = intersection(region, clip)
            area = intersection(render_region, crop)
            if not area.area or any(front.contains_region(area) for front in in_front):
                continue
            in_front.append(render_region)
            render_x = render_region.x
            strips = widget.render_lines(
                Region(render_x - region.x, area.y - region.y, render_region.width, area.height)
            )
            first_cut, last_cut = render_region.column_span
            for y, strip in zip(area.line_range, strips, strict=False):
                if not is_rendered_line(y):
                    continue
                chops_line = chops[y]
                final_cuts = [cut for cut in cuts[y] if last_cut >= cut >= first_cut]
                cut_strips = strip.divide([cut - render_x for cut in final_cuts[1:]])
                get_chop = chops_line.get
                for cut, piece in zip(final_cuts, cut_strips, strict=False):
                    if get_chop(cut) is None:
                        chops_line[cut] = piece
        return cast("Sequence[Mapping[int, Strip]]", chops)  # as Textual does
