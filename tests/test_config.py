"""The config and the templates, validated once and kept in the validated cache (core/validated_cache.py).

Each start with unchanged inputs reads the cached copy, and must see exactly what a fresh
validation would; any change to an input must be seen at once. Real files, real
subprocesses (to see what a start imports), the cache directory in tmp_path.
"""

from __future__ import annotations

import os
import pickle
import re
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from dutypost.core import validated_cache
from dutypost.core.config import EXAMPLE_CONFIG, Settings
from dutypost.core.config_loader import load_settings
from dutypost.core.credentials import load_credentials
from dutypost.core.errors import InputError
from dutypost.core.templates import BUNDLED_TEMPLATES, load_templates

REPO = Path(__file__).resolve().parent.parent
CREDENTIALS = {
    "DUTYPOST_X__CONSUMER_KEY": "ck-never-on-disk-7731",
    "DUTYPOST_X__CONSUMER_SECRET": "cs-never-on-disk-7732",
    "DUTYPOST_X__ACCESS_TOKEN": "at-never-on-disk-7733",
    "DUTYPOST_X__ACCESS_TOKEN_SECRET": "as-never-on-disk-7734",
}


def cached_files() -> list[Path]:
    return sorted(validated_cache.cache_dir().glob("*.pickle"))


def start_imports(config: Path) -> dict[str, bool]:
    """What a fresh process imports to load ``config``: the start-up path, in a subprocess."""
    code = (
        "import sys\n"
        "from pathlib import Path\n"
        "from dutypost.core.config_loader import load_settings\n"
        f"load_settings(Path({str(config)!r}))\n"
        "print('pydantic' in sys.modules, 'pydantic_settings' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, env=dict(os.environ), capture_output=True,
                         text=True, timeout=60, check=True).stdout.split()
    return {"pydantic": out[0] == "True", "pydantic_settings": out[1] == "True"}


# -- the settings' cached copy -------------------------------------------------------------


def test_the_second_start_reads_the_cached_copy_without_pydantic(config_file):
    path = config_file()
    assert start_imports(path) == {"pydantic": True, "pydantic_settings": True}  # validated
    assert [p.name.split("-")[0] for p in cached_files()] == ["settings"]
    assert start_imports(path) == {"pydantic": False, "pydantic_settings": False}  # from the cached copy


def test_the_cached_copy_is_what_validation_gives(config_file):
    path = config_file()
    fresh = load_settings(path, fresh=True)
    again = load_settings(path)
    assert again == fresh
    assert isinstance(again, Settings) and again.operators[0].id == fresh.operators[0].id


def test_an_edit_to_the_file_is_seen_at_once(config_file):
    path = config_file(replace={"x": "timeout_seconds = 7"})
    assert load_settings(path).x.timeout_seconds == 7
    path.write_text(path.read_text(encoding="utf-8").replace("timeout_seconds = 7", "timeout_seconds = 9"),
                    encoding="utf-8")
    assert load_settings(path).x.timeout_seconds == 9


def test_an_edit_that_breaks_the_file_is_reported_not_hidden_by_the_cached_copy(config_file):
    path = config_file(replace={"x": "timeout_seconds = 7"})
    load_settings(path)
    path.write_text(path.read_text(encoding="utf-8").replace("timeout_seconds = 7", "timeout_seconds = 0"),
                    encoding="utf-8")
    with pytest.raises(InputError) as raised:
        load_settings(path)
    assert "x.timeout_seconds" in raised.value.message and "より大きい値" in raised.value.message


def test_an_environment_variable_is_seen_at_once(config_file, monkeypatch):
    path = config_file()
    assert load_settings(path).x.timeout_seconds == 15
    monkeypatch.setenv("DUTYPOST_X__TIMEOUT_SECONDS", "30")
    assert load_settings(path).x.timeout_seconds == 30
    monkeypatch.delenv("DUTYPOST_X__TIMEOUT_SECONDS")
    monkeypatch.setenv("dutypost_x__timeout_seconds", "31")  # pydantic-settings ignores the case
    assert load_settings(path).x.timeout_seconds == 31
    monkeypatch.delenv("dutypost_x__timeout_seconds")
    assert load_settings(path).x.timeout_seconds == 15


def test_the_default_ledger_follows_the_data_directory(monkeypatch, tmp_path):
    first = load_settings(EXAMPLE_CONFIG).ledger.path
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "elsewhere"))
    moved = load_settings(EXAMPLE_CONFIG).ledger.path
    assert moved != first and moved.is_relative_to(tmp_path / "elsewhere")


def plant(config: Path, settings: Settings, mode: int) -> Path:
    """A cached copy for ``config`` with the right key but other contents."""
    load_settings(config)
    [path] = cached_files()
    stored_key, _ = pickle.loads(path.read_bytes())
    path.write_bytes(pickle.dumps((stored_key, settings)))
    path.chmod(mode)
    return path


def test_a_cached_copy_others_could_have_written_is_not_trusted(config_file):
    path = config_file()
    real = load_settings(path, fresh=True)
    forged = replace(real, account=replace(real.account, handle="forged_handle"))
    plant(path, forged, 0o600)
    assert load_settings(path).account.handle == "forged_handle"  # the planted file is what is read...
    plant(path, forged, 0o666)
    assert load_settings(path).account.handle == real.account.handle  # ...unless others could write it


def test_config_check_validates_even_with_a_cached_copy(config_file, capsys):
    from dutypost.core.cli import main

    path = config_file()
    real = load_settings(path, fresh=True)
    plant(path, replace(real, operators=[]), 0o600)
    assert load_settings(path).operators == []
    assert main(["--config", str(path), "config", "check"]) == 0
    assert f"職員 {len(real.operators)}" in capsys.readouterr().out


@pytest.mark.parametrize("damage", [b"", b"not a pickle", pickle.dumps(("key", "not settings"))])
def test_a_damaged_cached_copy_is_ignored(config_file, damage):
    path = config_file()
    expected = load_settings(path)
    [file] = cached_files()
    file.write_bytes(damage)
    assert load_settings(path) == expected


def test_an_unwritable_cache_only_costs_time(config_file, monkeypatch, tmp_path):
    blocked = tmp_path / "not-a-directory"
    blocked.write_text("", encoding="utf-8")
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocked))
    path = config_file()
    assert load_settings(path).account.handle == load_settings(path, fresh=True).account.handle


# -- credentials ------------------------------------------------------------------------


def test_credentials_come_from_the_environment_and_never_reach_the_cached_copy(config_file, monkeypatch):
    for name, value in CREDENTIALS.items():
        monkeypatch.setenv(name, value)
    path = config_file()
    settings = load_settings(path)
    assert load_credentials(settings) == {
        "consumer_key": CREDENTIALS["DUTYPOST_X__CONSUMER_KEY"],
        "consumer_secret": CREDENTIALS["DUTYPOST_X__CONSUMER_SECRET"],
        "access_token": CREDENTIALS["DUTYPOST_X__ACCESS_TOKEN"],
        "access_token_secret": CREDENTIALS["DUTYPOST_X__ACCESS_TOKEN_SECRET"],
    }
    assert load_settings(path) == settings  # the second load: from the cached copy
    written = b"".join(p.read_bytes() for p in cached_files())
    assert written
    for value in CREDENTIALS.values():
        assert value.encode() not in written
    assert "never-on-disk" not in repr(settings)


def test_credentials_in_the_config_file_are_refused_with_the_way_out(config_file):
    path = config_file(replace={"x": 'consumer_key = "abc"'})
    with pytest.raises(InputError) as raised:
        load_settings(path)
    message = raised.value.message
    assert f"{path}:" in message and "設定ファイルに書けません" in message and "DUTYPOST_X__CONSUMER_KEY" in message
    assert "abc" not in message


def test_reading_credentials_from_the_environment_does_not_import_pydantic(tmp_path):
    """Issue 14: four environment variables need no validation library."""
    code = (
        "import sys\n"
        "from dutypost.core.config import Settings\n"
        "from dutypost.core.credentials import load_credentials\n"
        "print(sorted(load_credentials(Settings()).values()))\n"
        "print('pydantic' in sys.modules, 'pydantic_settings' in sys.modules)\n"
    )
    env = dict(os.environ) | CREDENTIALS
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True, text=True,
                         timeout=60, check=True).stdout.splitlines()
    assert out[0] == repr(sorted(CREDENTIALS.values()))
    assert out[1] == "False False"


def test_credential_variables_are_matched_ignoring_case_and_all_four_are_needed(monkeypatch, tmp_path):
    """As when pydantic-settings read them: the case of the name does not matter; a partial
    set without a secrets file is an error naming what is missing."""
    settings = Settings()
    for name, value in CREDENTIALS.items():
        monkeypatch.setenv(name.lower(), value)
    assert load_credentials(settings)["access_token"] == CREDENTIALS["DUTYPOST_X__ACCESS_TOKEN"]
    monkeypatch.delenv("dutypost_x__access_token")
    with pytest.raises(InputError) as raised:
        load_credentials(replace(settings, x=replace(settings.x, secrets_file=tmp_path / "none.toml")))
    assert "DUTYPOST_X__ACCESS_TOKEN" in raised.value.message
    assert "DUTYPOST_X__CONSUMER_KEY" not in raised.value.message


# -- the templates' cached copy ----------------------------------------------------------


def test_templates_are_read_from_the_cached_copy_until_a_file_changes(tmp_path):
    site = tmp_path / "site"
    site.mkdir()
    original = (BUNDLED_TEMPLATES / "evac-l4.toml").read_text(encoding="utf-8")
    (site / "evac-l4.toml").write_text(original, encoding="utf-8")
    first = load_templates([BUNDLED_TEMPLATES, site])
    assert first.get("evac-l4") is not None and not first.errors
    assert load_templates([BUNDLED_TEMPLATES, site]) == first

    edited = original.replace('title = "', 'title = "(改) ', 1)
    (site / "evac-l4.toml").write_text(edited, encoding="utf-8")
    assert load_templates([BUNDLED_TEMPLATES, site]).get("evac-l4").title.startswith("(改) ")

    (site / "broken.toml").write_text("id = \n", encoding="utf-8")
    [error] = load_templates([BUNDLED_TEMPLATES, site]).errors
    assert error.path == site / "broken.toml" and error.line == 1

    (site / "broken.toml").unlink()
    assert not load_templates([BUNDLED_TEMPLATES, site]).errors


def test_a_site_folder_made_later_is_seen_at_once(tmp_path):
    site = tmp_path / "site"
    [error] = load_templates([BUNDLED_TEMPLATES, site]).errors
    assert error.path == site
    site.mkdir()
    assert not load_templates([BUNDLED_TEMPLATES, site]).errors


def test_templates_check_parses_every_file(tmp_path, capsys):
    from dutypost.core.cli import main

    site = tmp_path / "site"
    site.mkdir()
    (site / "evac-l4.toml").write_text((BUNDLED_TEMPLATES / "evac-l4.toml").read_text(encoding="utf-8"),
                                       encoding="utf-8")
    load_templates([site])
    [planted] = [p for p in cached_files() if p.name.startswith("templates-")]
    stored_key, found = pickle.loads(planted.read_bytes())
    planted.write_bytes(pickle.dumps((stored_key, replace(found, templates=[]))))
    assert load_templates([site]).templates == []  # the cached copy is what a start reads...
    assert main(["templates", "check", str(site)]) == 0  # ...but the check reads the files
    assert "1 件のテンプレート" in capsys.readouterr().out


# -- [municipality] (issue 13) -----------------------------------------------------------


def _without_municipality(text: str) -> str:
    return re.sub(r"\[municipality\].*?(?=\[hours\])", "", text, flags=re.S)


def test_the_example_config_names_the_example_town(example_config_path):
    m = load_settings(example_config_path, fresh=True).municipality
    assert (m.name, m.kind, m.hashtags, m.website) == ("阿見町", "町", ["#阿見町"], "https://www.town.ami.lg.jp")
    assert (m.mail_service, m.manager_title) == ("あみメール", "秘書広聴課長")
    assert m.page_url("bosai") == "https://www.town.ami.lg.jp/bousai/"
    assert m.page_url("nowhere") is None


def test_a_page_path_without_a_website_is_no_url(example_config_path):
    """A path alone (「/bousai/」) is no link: the template leaves its link out instead."""
    from dataclasses import replace

    m = load_settings(example_config_path, fresh=True).municipality
    assert replace(m, website="").page_url("bosai") is None
    assert replace(m, website="", pages={"bosai": "https://example.jp/b/"}).page_url("bosai") == "https://example.jp/b/"


def test_an_old_config_without_municipality_takes_it_from_the_account(config_file):
    path = config_file()
    path.write_text(_without_municipality(path.read_text(encoding="utf-8")), encoding="utf-8")
    assert "[municipality]" not in path.read_text(encoding="utf-8")
    m = load_settings(path, fresh=True).municipality
    assert (m.name, m.kind, m.hashtags, m.website) == ("阿見町", "町", ["#阿見町"], "https://www.town.ami.lg.jp")


def test_a_config_whose_account_names_no_municipality_loads_without_a_name(config_file):
    path = config_file()  # the official account ([[accounts]], issue 13.3) renamed 防災情報 @bousai
    text = path.read_text(encoding="utf-8").replace('name = "阿見町公式"', 'name = "防災情報"', 1)
    path.write_text(_without_municipality(text.replace('handle = "TownAmi"', 'handle = "bousai"', 1)),
                    encoding="utf-8")
    assert load_settings(path, fresh=True).municipality.name == ""


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ('name = "流山市"\nkind = "県"', "municipality.kind"),
        ('name = "流山市"\nhashtags = ["流山市"]', "#"),
        ('name = "流山市"\nwebsite = "www.city.nagareyama.chiba.jp"', "https://"),
        ('name = "流山市"\nmail = "x"', "municipality.mail"),
    ],
)
def test_a_wrong_municipality_key_is_named(config_file, body, words):
    path = config_file(replace={"municipality": body})
    with pytest.raises(InputError) as caught:
        load_settings(path, fresh=True)
    assert words in str(caught.value)
