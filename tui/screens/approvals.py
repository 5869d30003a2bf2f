"""The approvals inbox (承認): for operators with the approver role (承認者).

Two lists, both from the app's ledger poll (every second; the screen redraws only when
something changed):

- 承認依頼: in-app approval requests (アプリ内承認) from the approver's own department
  (所属). Enter shows the text; F10 approves (承認), F8 sends it back (差し戻し), each
  with an optional note. The requester's review screen updates by itself.
- 事後承認待ち: posts of the department that went out under an emergency override
  (緊急オーバーライド), with its category and justification (理由). Enter shows the post;
  F10 signs it off (事後承認); each sign-off is recorded.

Nobody approves their own request or signs off their own post.
"""

from __future__ import annotations

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.widgets import Footer, OptionList, Static
from textual.widgets.option_list import Option

from dutypost.core.ledger import POST_STATE_LABELS, Post
from dutypost.tui.duty_screen import DutyScreen
from dutypost.tui.keys import bind
from dutypost.tui.widgets.status import StatusBar
from dutypost.tui.words import first_line, override_text, short_time

ROW_CELLS = 74


class ApprovalsScreen(DutyScreen):
    HELP = (
        "承認の画面です (承認者だけが使えます)。\n"
        "・承認依頼: 所属の職員がアプリ内で依頼した投稿です。Enter で本文を確かめ、F10 (Ctrl+O) で承認、"
        "F8 (Ctrl+R) で差し戻します。依頼した職員の確認画面がすぐに更新されます。\n"
        "・事後承認待ち: 緊急オーバーライドで出された所属の投稿です。区分と理由を確かめ、Enter で開いて"
        " F10 (Ctrl+O) で事後承認します。\n"
        "・Tab で二つの一覧を移ります。Esc でホームに戻ります。"
    )

    BINDINGS = [bind("escape", "back", "戻る", "back")]

    def compose(self) -> ComposeResult:
        yield StatusBar()
        yield Static(f" 承認 ({self.ctx.operator.department})", id="screen-title", markup=False)
        yield Static("承認依頼", id="requests-title", classes="section-title", markup=False)
        yield OptionList(id="requests", markup=False)
        yield Static("事後承認待ち", id="post-hoc-title", classes="section-title", markup=False)
        yield OptionList(id="post-hoc", markup=False)
        yield Static(" Enter: 開く   Tab: 一覧を移る   Esc: 戻る", id="approvals-hint", markup=False)
        yield Footer(compact=True, show_command_palette=False)

    def on_mount(self) -> None:
        self.set_focus(self.query_one("#requests", OptionList))
        self.watch_shared("approval_requests", self._show_requests)
        self.watch_shared("post_hoc_posts", self._show_post_hoc)

    @property
    def department_posts(self) -> list[Post]:
        return [p for p in self.app.post_hoc_posts if p.department == self.ctx.operator.department]

    def _show_requests(self, requests: tuple) -> None:
        now = self.ctx.now()
        options = []
        for request in requests:
            who = self.app.operator_name(request.requested_by)
            head = f"#{request.id} {short_time(request.requested_at, now)} {who}"
            if request.requested_by == self.ctx.operator.id:
                head += " (自分の依頼)"
            options.append(Option(Text.assemble((head, "bold"), "\n    ", first_line(request.text, ROW_CELLS - 4)),
                                  id=str(request.id)))
        self._fill("requests", options, "承認を待っている依頼はありません。")
        self.query_one("#requests-title", Static).update(f"承認依頼 ({len(requests)} 件)")

    def _show_post_hoc(self, _posts: tuple) -> None:
        now = self.ctx.now()
        posts = self.department_posts
        options = []
        for post in posts:
            state = POST_STATE_LABELS.get(post.state, post.state)
            head = f"#{post.id} {short_time(post.sent_at or post.created_at, now)} [{state}] " \
                   f"{self.app.operator_name(post.operator).split()[0]}"
            row = Text.assemble((head, "bold"), " ", first_line(post.text, 40))
            row.append(f"\n    {override_text(post)}")  # in full: the justification is never cut
            options.append(Option(row, id=str(post.id)))
        self._fill("post-hoc", options, "事後承認を待っている投稿はありません。")
        self.query_one("#post-hoc-title", Static).update(f"事後承認待ち ({len(posts)} 件)")

    def _fill(self, list_id: str, options: list[Option], empty: str) -> None:
        listing = self.query_one(f"#{list_id}", OptionList)
        highlighted = listing.highlighted_option.id if listing.highlighted_option else None
        if not options:
            options = [Option(empty, disabled=True)]
        listing.set_options(options)
        ids = [o.id for o in options if not o.disabled]
        listing.highlighted = ids.index(highlighted) if highlighted in ids else (0 if ids else None)
        self._focus_what_waits()

    def _focus_what_waits(self) -> None:
        """Keep the focus on a list with something in it: a request that arrives while the
        approver looks at an empty list gets the focus."""
        lists = [self.query_one("#requests", OptionList), self.query_one("#post-hoc", OptionList)]
        waiting = [listing for listing in lists if listing.highlighted is not None]
        if waiting and self.focused not in waiting:
            self.set_focus(waiting[0])

    @on(OptionList.OptionSelected, "#requests")
    def _open_request(self, event: OptionList.OptionSelected) -> None:
        request = next((r for r in self.app.approval_requests if str(r.id) == event.option.id), None)
        if request is not None:
            self.app.open_decision(request, self._decided)

    @on(OptionList.OptionSelected, "#post-hoc")
    def _open_post(self, event: OptionList.OptionSelected) -> None:
        post = next((p for p in self.department_posts if str(p.id) == event.option.id), None)
        if post is not None:
            self.app.open_sign_off(post, self._decided)

    def _decided(self, said: str | None) -> None:
        if said:
            self.notify(said, title="承認", markup=False)
            self.app.poll_ledger()

    def action_back(self) -> None:
        self.app.pop_screen()
