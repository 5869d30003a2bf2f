"""The practice server's web pages: the accepted posts at ``/`` and ``/i/web/status/{id}``,
and the PIN page of the login (``/oauth/authorize``)."""

from __future__ import annotations

import html
from datetime import timedelta, timezone

from dutypost.practice.store import Media, Post

JST = timezone(timedelta(hours=9), "JST")
UNKNOWN_POST_PAGE = "<!doctype html><p>この投稿は見つかりません。</p>\n"
UNKNOWN_LOGIN_PAGE = "<!doctype html><p>このログイン用の URL は無効か、期限が切れています。</p>\n"


def posts_page(username: str, posts: list[Post], media: dict[str, Media], *, one: bool = False) -> str:
    """The HTML page of ``posts`` (newest first), each escaped; ``one`` for a single post's page."""
    items = []
    for post in posts:
        when = post.created_at.astimezone(JST).strftime("%Y-%m-%d %H:%M:%S JST")
        reply = f" ・ 返信先 {html.escape(post.reply_to)}" if post.reply_to else ""
        images = f" ・ 画像 {len(post.media_ids)} 枚" if post.media_ids else ""
        alts = "".join(
            f'<div class="alt">代替テキスト: {html.escape(media[m].alt_text or "")}</div>'
            for m in post.media_ids if m in media and media[m].alt_text
        )
        items.append(
            f'<li id="post-{html.escape(post.id)}">'
            f'<div class="meta">{when} ・ ID {html.escape(post.id)}{reply}{images}</div>'
            f'<div class="text">{html.escape(post.text)}</div>{alts}</li>'
        )
    listing = f"<ol>\n{''.join(items)}\n</ol>" if items else "<p>まだ投稿はありません。</p>"
    heading = "投稿" if one else f"受け付けた投稿 ({len(posts)} 件、新しい順)"
    return (
        '<!doctype html>\n<html lang="ja"><head><meta charset="utf-8">'
        "<title>練習用サーバー (dutypost)</title>"
        "<style>body{font-family:sans-serif;max-width:42em;margin:2em auto;padding:0 1em}"
        "li{border-bottom:1px solid #ccc;padding:.6em 0}.meta,.alt{color:#555;font-size:.9em}"
        ".text{white-space:pre-wrap}</style></head><body>\n"
        f"<h1>練習用サーバー (@{html.escape(username)})</h1>\n"
        "<p>ここにある投稿は本物の X には出ていません。</p>\n"
        f"<h2>{heading}</h2>\n{listing}\n</body></html>\n"
    )


def pin_page(pin: str) -> str:
    return (
        '<!doctype html>\n<html lang="ja"><head><meta charset="utf-8"><title>練習用サーバーのログイン</title></head>'
        f"<body><h1>練習用サーバーのログイン</h1><p>次の PIN を dutypost に入力してください。</p>"
        f'<p id="pin" style="font-size:2em">{html.escape(pin)}</p></body></html>\n'
    )
