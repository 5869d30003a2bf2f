"""Keys (キー操作): every binding has a stable id, so ``[tui] keymap`` can remap it.

Rules (STYLE.md, SPEC §8):
- every action has a key any terminal can send: letters, digits, Enter, Tab, arrows and
  F1–F10, each F-key with a Ctrl-letter twin for terminals (vt100, some SSH clients,
  GNOME Terminal's F10 menu) that do not pass it;
- no Ctrl+Enter; no Ctrl+S/Ctrl+Q flow-control letters for our own actions (Ctrl+Q is
  Textual's quit), no Ctrl+A/Ctrl+B (screen and tmux prefixes), no Ctrl+C/H/I/J/M;
- Esc only ever means "back" (戻る): tmux holds a lone Esc and slow links split escape
  sequences, so nothing irreversible hangs on it.

The table (id: keys — where):

=========================  =============  ============================================
id                         keys           what
=========================  =============  ============================================
help                       F1, Ctrl+G     help for this screen (ヘルプ)
command-palette            Ctrl+P         command palette (コマンド) — Textual's
quit                       Ctrl+Q         quit (終了) — Textual's
back                       Esc            back (戻る)
home.search                /              focus the search box (検索)
home.outbox                F3, Ctrl+O, o  outbox (送信待ち)
home.drafts                F4, Ctrl+T     open drafts (下書き)
home.history               F5, Ctrl+L     the history (履歴)
home.checklists            F6, Ctrl+F     the checklists menu (チェックリスト)
home.approvals             F7, Ctrl+Y     the approvals inbox (承認) — approvers only
home.handover              F8, Ctrl+R     write and show the handover page (引き継ぎ)
home.lift                  k              on the board (発令中): its lift template, prefilled
home.account               F9, Ctrl+N     switch the account (アカウント) — with more than one
account.confirm            F10, Ctrl+O    confirm the switch (切り替える)
compose.review             F2, Ctrl+N     to the review screen (確認へ)
compose.remove-image       F6, Ctrl+R     take the last added image off the post (画像を外す)
compose.versions           F3, Ctrl+L     add the やさしい日本語・English versions to the post, or take them off
image.complete             Tab            complete the image's path (補完); else the next field
field.accept-suggestion    Tab            take the area/facility suggestion shown (候補を確定); else the next field
review.ack                 Space, Enter   acknowledge a warning (確認済みにする)
review.approval            F7, Ctrl+K     record a verbal approval (承認を記録)
review.request-approval    F9, Ctrl+U     ask the department's approvers in-app (承認を依頼)
review.override            F8, Ctrl+E     emergency override (緊急オーバーライド)
review.publish             F10, Ctrl+X    publish (投稿)
override.confirm           F10, Ctrl+O    override and publish (オーバーライドして投稿)
override.scope-previous    Left, Up       the override's period: previous (期間: この投稿だけ / N時間)
override.scope-next        Right, Down    the override's period: next (also Space)
post.reconcile             F5, Ctrl+R     look for the post on the timeline (照合)
post.resend                F6, Ctrl+Y     send a failed post again (再送)
post.copy-text             c              copy the text to the clipboard (本文をコピー)
post.copy-url              u              copy the URL (URL をコピー)
post.cancel                x              take a failed post out of the outbox (取消)
post.followup-done         Space, Enter   a channel was updated (他の媒体への連絡: 済)
post.followup-na           n              a channel is not applicable, with a note (対象外)
handover.copy              c              copy the handover page to the clipboard
cancel.confirm             F10, Ctrl+O    confirm the cancellation with its reason
choice.previous            Left, Up       previous choice of a choice field (選択肢)
choice.next                Right, Down    next choice
choice.clear               Backspace, Del clear the choice
choice.submit              Enter          keep the choice, next field
drafts.restore             Enter          restore a draft (復元する)
drafts.discard             Delete, d      discard a draft (破棄する)
recovery.run               F10, Ctrl+O    after a restore: record the posts X has and the ledger lacks
history.correction         F6, Ctrl+F     訂正・お詫び: start or resume the checklist of a post
history.form               F9, Ctrl+V     write 様式第1号 of a post to a file
checklist.finish           F10, Ctrl+X    finish a checklist (完了)
checklist.not-applicable   n              a tick item does not apply, with a note (対象外)
checklist.delete-original  F10, Ctrl+X    confirm deleting the original on X (削除する)
checklist.keep-original    k              withdraw the deletion, keep the original (残す)
approvals.approve          F10, Ctrl+O    approve a request (承認する)
approvals.reject           F8, Ctrl+R     send a request back (差し戻す)
approvals.sign-off         F10, Ctrl+O    post-hoc approval of an overridden post (事後承認する)
history.more               n              the next, older page of the history (さらに古い投稿)
fault.quit                 Enter, q       leave the ledger fault screen, exit code 2 (終了)
=========================  =============  ============================================

In dialogs with a text field, the Ctrl twins avoid the letters the field takes for
editing (Ctrl+A/E/D/W/U/K/X/C/V): the approvals' note field is why approve is Ctrl+O.
"""

from __future__ import annotations

from textual.binding import Binding

#: The keys each binding id was declared with; the display falls back to these.
DECLARED_KEYS: dict[str, str] = {}


def bind(keys: str, action: str, description: str, id: str, *, show: bool = True,
         priority: bool = False) -> Binding:
    """A Binding with a stable id, registered so the footer can show all of its keys."""
    DECLARED_KEYS[id] = keys
    return Binding(keys, action, description, show=show, priority=priority, id=id)


_NAMES = {"escape": "Esc", "enter": "Enter", "space": "Space", "delete": "Del", "slash": "/", "tab": "Tab"}


def display_keys(keys: str) -> str:
    """``"f10,ctrl+x"`` → ``"F10/^X"``: what the footer and the help screen show."""
    shown = []
    for key in keys.split(","):
        key = key.strip()
        if key.startswith("ctrl+"):
            shown.append("^" + key.removeprefix("ctrl+").upper())
        elif key.startswith("f") and key[1:].isdigit():
            shown.append(key.upper())
        else:
            shown.append(_NAMES.get(key, key))
    return "/".join(shown)



#: 取消 on the outbox and on a post's screen: a plain letter, as no text field has the focus there.
CANCEL_BINDING = bind("x", "cancel", "取消", "post.cancel")
