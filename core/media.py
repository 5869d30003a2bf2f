"""Images attached to a post (画像): evacuation maps, photos of closed roads (issue 11 item 5).

A post carries up to :data:`MAX_IMAGES` PNG or JPEG images, each with its alt text
(代替テキスト), which is required. :func:`check_images` validates them before anything is
recorded; :func:`upload_images` uploads them (``POST /2/media/upload``) and sets each one's
alt text (``POST /2/media/metadata/create``) right before the post is created.

No post is created until every image is uploaded and described, so an upload whose
outcome is uncertain costs nothing but a second upload: an uploaded image that no post
uses is harmless (X forgets it after a day). Every failure here is therefore ``failed``,
never ``unknown``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from dutypost.core.errors import InputError
from dutypost.core.xapi import MAX_IMAGE_BYTES, XApiError, XClient, image_kind

MAX_IMAGES = 4
MAX_ALT_TEXT = 1000
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")


@dataclass(frozen=True)
class PostImage:
    """One image of a post (画像) and its alt text (代替テキスト)."""

    path: Path
    alt: str

    def as_json(self) -> dict:
        return {"path": str(self.path), "alt": self.alt}

    @classmethod
    def from_json(cls, data: dict) -> PostImage:
        return cls(Path(data["path"]), str(data["alt"]))

    @property
    def label(self) -> str:
        """The image in words for 様式第1号 and the screens: file name and alt text."""
        return f"{self.path.name} (代替テキスト: {self.alt})"


def check_image(path: str | Path, alt: str, *, number: int = 1) -> PostImage:
    """One image, checked: readable, PNG or JPEG by content, small enough, alt text given."""
    path = Path(path).expanduser()
    where = f"画像 {number} ({path})"
    alt = (alt or "").strip()
    if not alt:
        raise InputError(
            f"{where} の代替テキストがありません。",
            hint="画像の内容を言葉で書いてください (例: 「本郷地区の避難所の地図。中央公民館は国道沿い」)。"
                 "コマンドでは --image の後に --alt を付けます。",
        )
    if len(alt) > MAX_ALT_TEXT:
        raise InputError(f"{where} の代替テキストが長すぎます ({len(alt)} 文字)。",
                         hint=f"{MAX_ALT_TEXT} 文字以内にしてください。")
    try:
        with path.open("rb") as fh:
            head = fh.read(16)
        size = path.stat().st_size
    except OSError as exc:
        raise InputError(f"{where} を読めません ({exc.strerror or exc})。",
                         hint="ファイルの場所と名前を確かめてください。") from None
    if image_kind(head) is None:
        raise InputError(f"{where} は PNG か JPEG ではありません。",
                         hint="ファイルの中身で判定しています。PNG か JPEG に変換してから選んでください。")
    if size > MAX_IMAGE_BYTES:
        raise InputError(f"{where} が大きすぎます ({size / 1024 / 1024:.1f} MB)。",
                         hint=f"X に載せられる画像は {MAX_IMAGE_BYTES // 1024 // 1024} MB までです。縮小してください。")
    return PostImage(path.resolve(), alt)


def check_images(images: Iterable[PostImage | tuple[str | Path, str]]) -> tuple[PostImage, ...]:
    """Every image checked (see :func:`check_image`), at most :data:`MAX_IMAGES`."""
    items = list(images)
    if len(items) > MAX_IMAGES:
        raise InputError(f"画像が多すぎます ({len(items)} 枚)。",
                         hint=f"1 つの投稿に付けられる画像は {MAX_IMAGES} 枚までです。")
    checked = []
    for number, item in enumerate(items, 1):
        path, alt = (item.path, item.alt) if isinstance(item, PostImage) else item
        checked.append(check_image(path, alt, number=number))
    return tuple(checked)


def upload_images(client: XClient, images: Iterable[PostImage]) -> list[str]:
    """Upload each image and set its alt text; returns the media ids, in order.

    Raises :class:`~dutypost.core.xapi.XApiError` with outcome ``failed`` (never
    ``unknown``: no post exists yet) — also when a file can no longer be read.
    """
    media_ids: list[str] = []
    for number, image in enumerate(images, 1):
        try:
            media_id = client.upload_media(image.path)
            client.set_alt_text(media_id, image.alt)
        except XApiError as exc:
            raise XApiError(
                f"画像 {number} ({image.path.name}) を X に用意できませんでした。投稿はまだ作られていません: {exc.message}",
                status=exc.status, hint=exc.hint,
            ) from exc
        except InputError as exc:
            raise XApiError(
                f"画像 {number} を読めなくなりました。投稿はまだ作られていません: {exc.message}",
                hint="画像ファイルを元の場所に戻してから再送するか、取り消して画像を選び直してください。",
            ) from None
        media_ids.append(media_id)
    return media_ids
