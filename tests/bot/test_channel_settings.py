"""The channels' settings: each off until configured, and a wrong value stops start-up with one line."""

from __future__ import annotations

import pytest

from zhengji.settings import SettingsError, load_settings

AES_KEY = "a" * 43


def test_channels_are_off_by_default() -> None:
    settings = load_settings()
    assert settings.telegram_token is None and settings.wechat_token is None
    assert settings.telegram_api_url == "https://api.telegram.org"


def test_a_relay_for_telegram_and_a_wechat_account(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ZHENGJI_TELEGRAM_API_URL", "https://tg-relay.example.gov.cn/")
    monkeypatch.setenv("ZHENGJI_WECHAT_TOKEN", "zhengji2025")
    monkeypatch.setenv("ZHENGJI_WECHAT_APPID", "wx0123456789abcdef")
    monkeypatch.setenv("ZHENGJI_WECHAT_AES_KEY", AES_KEY)
    settings = load_settings()
    assert settings.telegram_api_url == "https://tg-relay.example.gov.cn"
    assert settings.wechat_aes_key is not None and settings.wechat_aes_key.get_secret_value() == AES_KEY
    assert AES_KEY not in repr(settings) and "zhengji2025" not in repr(settings)


@pytest.mark.parametrize(
    ("variable", "value", "words"),
    [
        ("ZHENGJI_TELEGRAM_API_URL", "api.telegram.org", "http(s)://"),
        ("ZHENGJI_WECHAT_TOKEN", "有空格 的令牌", "3 至 32 位"),
        ("ZHENGJI_WECHAT_AES_KEY", "short", "43 位"),
        ("ZHENGJI_WECHAT_AES_KEY", AES_KEY, "ZHENGJI_WECHAT_APPID"),
    ],
)
def test_a_wrong_channel_setting_is_named(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str, words: str
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(SettingsError) as refused:
        load_settings()
    assert variable in str(refused.value) and words in str(refused.value)
