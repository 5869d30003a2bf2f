"""What is in force (発令中, SPEC §2): orders and warnings issued and not yet lifted.

Derived from the ledger's sent posts and their templates' pairs, never stored: a template
with ``lifts = "evac-l4"`` lifts what ``evac-l4`` issued (発令/解除, 開設/閉鎖,
通行止め/解除, 津波 発表/解除). Each template names the field that holds the place
(``board_key``: 地区, 避難所, 道路, 津波予報区); a value naming several places
(「本郷地区、中央地区」) puts one line per place on the board, and a lift clears only the
places it names. Lifting the last one clears the board. Drill and live posts have boards
of their own.

``dutypost status --json`` prints :meth:`InForce.as_json` of each line (see the README).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from dutypost.core.ledger import Ledger, Post
    from dutypost.core.templates import Template, TemplateSet

_PLACE_SEPARATORS = re.compile(r"[、,，\n]+")
_LEVEL = re.compile(r"警戒レベル\s*([0-9０-９])")
_ISSUE_WORDS = re.compile(r"\s*(発令|発表|開設)$")


@dataclass(frozen=True)
class InForce:
    """One line of the board (発令中): what, where, since when, and how to lift it.

    ``level`` is the 警戒レベル (3/4/5) of an evacuation order, else None; ``lift_template``
    the id of the template that lifts it (None when the templates have none)."""

    template_id: str
    title: str
    level: int | None
    place: str
    since: datetime
    post_id: int
    operator: str
    drill: bool
    lift_template: str | None
    values: dict[str, str]

    def as_json(self) -> dict:
        return {
            "template": self.template_id,
            "title": self.title,
            "level": self.level,
            "place": self.place,
            "since": self.since.isoformat(),
            "post_id": self.post_id,
            "operator": self.operator,
            "drill": self.drill,
            "lift_template": self.lift_template,
        }


def places(text: str | None) -> list[str]:
    """The places a field value names: 「本郷地区、中央地区」 → 本郷地区, 中央地区."""
    return [p.strip() for p in _PLACE_SEPARATORS.split(text or "") if p.strip()]


def pairs(templates: TemplateSet) -> dict[str, Template]:
    """Issuing template id → the template that lifts it."""
    return {t.lifts: t for t in templates.templates if t.lifts and templates.get(t.lifts) is not None}


def in_force(ledger: Ledger, templates: TemplateSet, *, drill: bool) -> list[InForce]:
    """The board: every issued order or warning not lifted yet, oldest first."""
    lifters = pairs(templates)
    issuers = {i: templates.get(i) for i in lifters}
    if not issuers:
        return []
    involved = {**issuers, **{t.id: t for t in lifters.values()}}
    # Folded over (post id, template, place field) only: a Post is built for the lines left.
    board: dict[tuple[str, str], int] = {}  # (issuing template, place) -> the post that issued it
    keys = {template_id: template.board_key or None for template_id, template in involved.items()}
    for post_id, template_id, value in ledger.sent_board_values(keys, drill=drill):
        if template_id in issuers:
            for place in places(value) or [""]:
                board.setdefault((template_id, place), post_id)  # issued again: in force since the first
        else:
            for place in places(value) or [""]:
                board.pop((involved[template_id].lifts, place), None)
    posts = ledger.posts_with_ids(board.values())
    lines = [_line(issuers[template_id], posts[post_id], place, lifters[template_id].id)
             for (template_id, place), post_id in board.items() if post_id in posts]
    return sorted(lines, key=lambda line: (line.since, line.post_id, line.place))


def lift_values(line: InForce, lift: Template) -> dict[str, str]:
    """The lift template's fields prefilled from the line: the place, the kind, and every
    other field the two templates share by name, except the time and the reason."""
    values = {name: value for name, value in line.values.items()
              if lift.field(name) is not None and name not in ("time", "reason")}
    if lift.board_key:
        values[lift.board_key] = line.place
    return values


def _line(template: Template, post: Post, place: str, lift_id: str) -> InForce:
    title = _ISSUE_WORDS.sub("", template.title)
    if template.board_level and post.values.get(template.board_level):
        title = post.values[template.board_level]
    level = _LEVEL.search(template.title)
    return InForce(
        template_id=template.id, title=title, level=int(level[1].translate(str.maketrans("０１２３４５６７８９", "0123456789"))) if level else None,
        place=place, since=post.sent_at or post.created_at, post_id=post.id, operator=post.operator,
        drill=post.drill, lift_template=lift_id, values=dict(post.values),
    )
