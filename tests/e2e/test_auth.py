"""Gateway authentication with SWITCHYARD_MASTER_KEY set, through both SDKs."""

from __future__ import annotations

import anthropic
import httpx
import openai
import pytest

HELLO = [{"role": "user", "content": "hi"}]


def _oai(gw, key, **kw):
    return openai.OpenAI(base_url=gw.openai_base, api_key=key, max_retries=0, timeout=15, **kw)


def _anth(gw, key):
    return anthropic.Anthropic(base_url=gw.url, api_key=key, max_retries=0, timeout=15)


def test_openai_right_key(auth_gateway):
    with _oai(auth_gateway, auth_gateway.key) as client:
        raw = client.chat.completions.with_raw_response.create(model="gpt-4o-mini", messages=HELLO)
        assert raw.headers["x-switchyard-provider"] == "openai"
        assert raw.parse().choices[0].message.content
        assert len(client.models.list().data) > 10
        assert len(client.embeddings.create(model="text-embedding-3-small", input="x").data[0].embedding) == 1536


@pytest.mark.parametrize("key", ["sk-wrong-key", "sk-e2e-master-ke", "sk-e2e-master-key-and-more"])
def test_openai_wrong_key(auth_gateway, key):
    with _oai(auth_gateway, key) as client:
        with pytest.raises(openai.AuthenticationError) as exc:
            client.chat.completions.create(model="gpt-4o-mini", messages=HELLO)
    err = exc.value
    assert err.status_code == 401
    assert err.code == "invalid_api_key"
    assert "sk-e2e-master-key" not in err.message, "the error must not leak the key"


def test_openai_wrong_key_on_every_route(auth_gateway):
    with _oai(auth_gateway, "sk-wrong") as client:
        with pytest.raises(openai.AuthenticationError):
            client.models.list()
        with pytest.raises(openai.AuthenticationError):
            client.models.retrieve("gpt-4o-mini")
        with pytest.raises(openai.AuthenticationError):
            client.embeddings.create(model="text-embedding-3-small", input="x")
        with pytest.raises(openai.AuthenticationError):
            client.chat.completions.create(model="gpt-4o-mini", messages=HELLO, stream=True)
        # An unknown model is not revealed before authentication.
        with pytest.raises(openai.AuthenticationError):
            client.chat.completions.create(model="no-such-model-e2e", messages=HELLO)


async def test_openai_wrong_key_async(auth_gateway):
    async with openai.AsyncOpenAI(base_url=auth_gateway.openai_base, api_key="nope", max_retries=0) as client:
        with pytest.raises(openai.AuthenticationError):
            await client.chat.completions.create(model="gpt-4o-mini", messages=HELLO)


def test_health_is_open_without_key_and_api_is_not(auth_gateway):
    assert httpx.get(f"{auth_gateway.url}/health/live", timeout=5).status_code == 200
    assert httpx.get(f"{auth_gateway.url}/health/ready", timeout=5).status_code == 200
    r = httpx.post(f"{auth_gateway.url}/v1/chat/completions", json={"model": "gpt-4o-mini", "messages": HELLO}, timeout=5)
    assert r.status_code == 401
    assert r.json()["error"]["code"] == "invalid_api_key"


def test_anthropic_right_key(auth_gateway):
    with _anth(auth_gateway, auth_gateway.key) as client:
        raw = client.messages.with_raw_response.create(model="claude-sonnet-4-5", max_tokens=50, messages=HELLO)
        assert raw.headers["x-switchyard-provider"] == "anthropic"
        assert raw.parse().content[0].text
        with client.messages.stream(model="gpt-4o-mini", max_tokens=50, messages=HELLO) as stream:
            assert "".join(stream.text_stream)


def test_anthropic_wrong_key(auth_gateway):
    with _anth(auth_gateway, "sk-ant-wrong") as client:
        with pytest.raises(anthropic.AuthenticationError) as exc:
            client.messages.create(model="claude-sonnet-4-5", max_tokens=50, messages=HELLO)
    assert exc.value.status_code == 401
    assert exc.value.body["type"] == "error"
    assert exc.value.body["error"]["type"] == "authentication_error"


async def test_anthropic_wrong_key_async_stream(auth_gateway):
    async with anthropic.AsyncAnthropic(base_url=auth_gateway.url, api_key="wrong", max_retries=0) as client:
        with pytest.raises(anthropic.AuthenticationError):
            async with client.messages.stream(model="claude-sonnet-4-5", max_tokens=50, messages=HELLO) as s:
                await s.get_final_message()
