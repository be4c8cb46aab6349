"""``monitor.diagram``: the SVG drawn from a definition, as a pure function."""

from __future__ import annotations

from xml.etree import ElementTree

from monitor.diagram import draw, state_boxes
from tests.monitor.conftest import PROBE

SVG = "{http://www.w3.org/2000/svg}"


def test_each_state_is_a_box_listing_its_actions_and_transitions_come_from_change_state():
    boxes = {box.name: box for box in state_boxes(PROBE)}
    assert list(boxes) == ["Review", "Pay"]
    assert boxes["Review"].lines == ("Work item “Check” → Managers",)
    assert boxes["Review"].targets == ("Pay",)  # inside the approve exit
    assert boxes["Pay"].lines == ("Set ratio", "Work item “Pay Out” → bob")


def test_the_current_state_is_outlined_and_the_path_taken_shaded():
    svg = ElementTree.fromstring(draw(PROBE, current="Pay", visited=["Review", "Pay"]))
    groups = {g.get("data-state"): g.get("class") for g in svg.iter(f"{SVG}g")}
    assert groups == {"Review": "state visited", "Pay": "state visited current"}
    titles = [t.text for t in svg.iter(f"{SVG}title")]
    assert titles == ["Review → Pay"]


def test_names_are_escaped():
    document = {"start_state": "<A>", "states": [{"name": "<A>", "actions": [
        {"action": "change_state", "state": "B&B"}]}, {"name": "B&B", "actions": []}]}
    svg = draw(document, current="<A>")
    ElementTree.fromstring(svg)  # well-formed
    assert "&lt;A&gt;" in svg and "B&amp;B" in svg
