"""The official OpenAI Python SDK against /v1/chat/completions, /v1/embeddings and /v1/models."""

from __future__ import annotations

import base64
import json
import math
import struct
import time

import openai
import pydantic
import pytest

from helpers import (
    ANTHROPIC_MODEL,
    CHAT_MODELS,
    DEEPSEEK_MODEL,
    GEMINI_MODEL,
    OPENAI_MODEL,
    OPENAI_TOOLS,
    WEATHER_TOOL,
    accumulate_tool_call_deltas,
    check_weather_args,
)

HELLO = [{"role": "user", "content": "Say hello to the gateway."}]


# ---- non-streaming --------------------------------------------------------------------------


@pytest.mark.parametrize("model,provider", CHAT_MODELS)
def test_chat_non_streaming(oai, model, provider):
    raw = oai.chat.completions.with_raw_response.create(model=model, messages=HELLO)
    assert raw.status_code == 200
    assert raw.headers["x-switchyard-provider"] == provider
    assert raw.headers["x-switchyard-attempts"] == "1"
    assert raw.headers.get("x-request-id")
    resp = raw.parse()
    assert isinstance(resp, openai.types.chat.ChatCompletion)
    assert resp.object == "chat.completion"
    assert resp.id
    choice = resp.choices[0]
    assert choice.index == 0
    assert choice.finish_reason == "stop"
    assert choice.message.role == "assistant"
    assert choice.message.content and len(choice.message.content.split()) > 3
    assert resp.usage.prompt_tokens > 0 and resp.usage.completion_tokens > 0
    assert resp.usage.total_tokens == resp.usage.prompt_tokens + resp.usage.completion_tokens


async def test_chat_non_streaming_async(aoai):
    raw = await aoai.chat.completions.with_raw_response.create(model=GEMINI_MODEL, messages=HELLO)
    assert raw.headers["x-switchyard-provider"] == "gemini"
    resp = raw.parse()
    assert resp.choices[0].message.content
    assert resp.choices[0].finish_reason == "stop"


@pytest.mark.parametrize("model", [OPENAI_MODEL, ANTHROPIC_MODEL, GEMINI_MODEL])
def test_echo_and_system_prompt(oai, model):
    resp = oai.chat.completions.create(
        model=model,
        messages=[
            {"role": "system", "content": "You are terse."},
            {"role": "user", "content": "echo: Héllo, wörld! {\"json\": [1, 2]}"},
        ],
    )
    assert resp.choices[0].message.content == 'Héllo, wörld! {"json": [1, 2]}'


@pytest.mark.parametrize("model", [OPENAI_MODEL, ANTHROPIC_MODEL, GEMINI_MODEL])
def test_max_tokens_gives_length(oai, model):
    resp = oai.chat.completions.create(model=model, messages=HELLO, max_tokens=5)
    assert resp.choices[0].finish_reason == "length"
    assert len(resp.choices[0].message.content.split()) == 5
    assert resp.usage.completion_tokens == 5


@pytest.mark.parametrize("model", [OPENAI_MODEL, ANTHROPIC_MODEL, GEMINI_MODEL])
def test_stop_sequence(oai, model):
    resp = oai.chat.completions.create(
        model=model, messages=[{"role": "user", "content": "echo: one two STOP three"}], stop=["STOP"]
    )
    assert resp.choices[0].message.content.strip() == "one two"
    assert resp.choices[0].finish_reason == "stop"


@pytest.mark.parametrize("model", [OPENAI_MODEL, ANTHROPIC_MODEL, GEMINI_MODEL])
def test_structured_output_parse(oai, model):
    class Answer(pydantic.BaseModel):
        city: str
        population: int

    resp = oai.chat.completions.parse(
        model=model,
        messages=[{"role": "user", "content": "A city and its population."}],
        response_format=Answer,
    )
    parsed = resp.choices[0].message.parsed
    assert isinstance(parsed, Answer)


# ---- streaming ------------------------------------------------------------------------------


@pytest.mark.parametrize("model,provider", CHAT_MODELS)
def test_chat_streaming_with_usage(oai, model, provider):
    prompt = [{"role": "user", "content": f"Stream a sentence ({model})."}]
    full = oai.chat.completions.create(model=model, messages=prompt)
    raw = oai.chat.completions.with_raw_response.create(
        model=model, messages=prompt, stream=True, stream_options={"include_usage": True}
    )
    assert raw.headers["x-switchyard-provider"] == provider
    assert raw.headers["content-type"].startswith("text/event-stream")
    text, finish, usage, roles, ids, n = "", None, None, set(), set(), 0
    for chunk in raw.parse():
        n += 1
        assert chunk.object == "chat.completion.chunk"
        ids.add(chunk.id)
        if chunk.usage is not None:
            assert chunk.choices == [], "the usage chunk has no choices"
            usage = chunk.usage
            continue
        assert usage is None, "the usage chunk must come last"
        for choice in chunk.choices:
            if choice.delta.role:
                roles.add(choice.delta.role)
            text += choice.delta.content or ""
            if choice.finish_reason:
                finish = choice.finish_reason
    assert n >= 3
    assert len(ids) == 1, "every chunk of one completion carries the same id"
    assert roles == {"assistant"}
    assert finish == "stop"
    # The simulator is deterministic: the stream spells the same text as the full reply.
    assert text == full.choices[0].message.content
    assert usage is not None
    assert usage.completion_tokens == full.usage.completion_tokens
    assert usage.total_tokens == usage.prompt_tokens + usage.completion_tokens


def test_chat_streaming_without_usage(oai):
    chunks = list(oai.chat.completions.create(model=OPENAI_MODEL, messages=HELLO, stream=True))
    assert all(c.usage is None for c in chunks)
    assert chunks[-1].choices[0].finish_reason == "stop"


@pytest.mark.parametrize("model", [OPENAI_MODEL, ANTHROPIC_MODEL, GEMINI_MODEL])
async def test_chat_streaming_async(aoai, model):
    stream = await aoai.chat.completions.create(
        model=model, messages=HELLO, stream=True, stream_options={"include_usage": True}
    )
    text, usage = "", None
    async for chunk in stream:
        if chunk.usage:
            usage = chunk.usage
        for c in chunk.choices:
            text += c.delta.content or ""
    assert len(text.split()) > 3
    assert usage and usage.completion_tokens > 0


def test_chat_stream_helper(oai):
    """The SDK's higher-level `.stream()` helper assembles the final completion."""
    with oai.chat.completions.stream(model=ANTHROPIC_MODEL, messages=HELLO) as stream:
        deltas = [e.delta for e in stream if e.type == "content.delta"]
        final = stream.get_final_completion()
    assert "".join(deltas) == final.choices[0].message.content
    assert final.choices[0].finish_reason == "stop"


# ---- tools ----------------------------------------------------------------------------------

TOOL_MODELS = [OPENAI_MODEL, ANTHROPIC_MODEL, GEMINI_MODEL, DEEPSEEK_MODEL]
PARALLEL = [{"role": "user", "content": "What is the weather in Paris and the time there? Use parallel calls."}]


@pytest.mark.parametrize("model", TOOL_MODELS)
def test_tool_call_non_streaming(oai, model):
    resp = oai.chat.completions.create(
        model=model,
        messages=[{"role": "user", "content": "Weather in Paris?"}],
        tools=[WEATHER_TOOL],
    )
    choice = resp.choices[0]
    assert choice.finish_reason == "tool_calls"
    calls = choice.message.tool_calls
    assert len(calls) == 1
    assert calls[0].type == "function"
    assert calls[0].id
    assert calls[0].function.name == "get_weather"
    check_weather_args(calls[0].function.arguments)


@pytest.mark.parametrize("model", TOOL_MODELS)
def test_tool_call_forced(oai, model):
    resp = oai.chat.completions.create(
        model=model,
        messages=[{"role": "user", "content": "What time is it?"}],
        tools=OPENAI_TOOLS,
        tool_choice={"type": "function", "function": {"name": "get_time"}},
    )
    calls = resp.choices[0].message.tool_calls
    assert [c.function.name for c in calls] == ["get_time"]
    assert json.loads(calls[0].function.arguments) == {"tz": "UTC"}


@pytest.mark.parametrize("model", TOOL_MODELS)
def test_tool_choice_none_gives_text(oai, model):
    resp = oai.chat.completions.create(model=model, messages=HELLO, tools=OPENAI_TOOLS, tool_choice="none")
    assert not resp.choices[0].message.tool_calls
    assert resp.choices[0].message.content


@pytest.mark.parametrize("model", TOOL_MODELS)
def test_parallel_tool_calls_non_streaming(oai, model):
    resp = oai.chat.completions.create(model=model, messages=PARALLEL, tools=OPENAI_TOOLS)
    calls = resp.choices[0].message.tool_calls
    assert [c.function.name for c in calls] == ["get_weather", "get_time"]
    assert len({c.id for c in calls}) == 2, "parallel tool calls need distinct ids"
    check_weather_args(calls[0].function.arguments)
    assert json.loads(calls[1].function.arguments) == {"tz": "UTC"}


@pytest.mark.parametrize("model", TOOL_MODELS)
def test_parallel_tool_calls_streaming(oai, model):
    stream = oai.chat.completions.create(
        model=model,
        messages=PARALLEL,
        tools=OPENAI_TOOLS,
        stream=True,
        stream_options={"include_usage": True},
    )
    calls, finish, usage = accumulate_tool_call_deltas(stream)
    assert finish == "tool_calls"
    assert sorted(calls) == [0, 1]
    assert [calls[i]["name"] for i in (0, 1)] == ["get_weather", "get_time"]
    assert all(c["id"] for c in calls.values())
    assert calls[0]["id"] != calls[1]["id"]
    check_weather_args(calls[0]["arguments"])  # accumulated fragments are valid JSON
    assert json.loads(calls[1]["arguments"]) == {"tz": "UTC"}
    assert usage is not None and usage.completion_tokens > 0


@pytest.mark.parametrize("model", [OPENAI_MODEL, GEMINI_MODEL])
async def test_tool_call_streaming_async(aoai, model):
    stream = await aoai.chat.completions.create(
        model=model, messages=[{"role": "user", "content": "Weather?"}], tools=[WEATHER_TOOL], stream=True
    )
    chunks = [c async for c in stream]
    calls, finish, _ = accumulate_tool_call_deltas(chunks)
    assert finish == "tool_calls"
    assert list(calls) == [0]
    check_weather_args(calls[0]["arguments"])


@pytest.mark.parametrize("model", TOOL_MODELS)
def test_tool_result_round_trip(oai, model):
    messages = [{"role": "user", "content": "Weather and time in Paris, in parallel please."}]
    first = oai.chat.completions.create(model=model, messages=messages, tools=OPENAI_TOOLS)
    msg = first.choices[0].message
    assert len(msg.tool_calls) == 2
    messages.append(msg.model_dump(exclude_none=True))
    for call, result in zip(msg.tool_calls, ["sunny, 21 degrees", "14:05"]):
        messages.append({"role": "tool", "tool_call_id": call.id, "content": result})
    second = oai.chat.completions.create(model=model, messages=messages, tools=OPENAI_TOOLS)
    choice = second.choices[0]
    assert choice.finish_reason == "stop"
    assert not choice.message.tool_calls
    assert choice.message.content.startswith("tool said:")


# ---- errors ---------------------------------------------------------------------------------


def test_unknown_model_not_found(oai):
    with pytest.raises(openai.NotFoundError) as exc:
        oai.chat.completions.create(model="no-such-model-e2e", messages=HELLO)
    err = exc.value
    assert err.status_code == 404
    assert "no-such-model-e2e" in err.message
    assert err.code == "model_not_found"
    assert err.body["type"] == "invalid_request_error"
    assert err.response.headers["x-switchyard-error"] == "model_not_found"


async def test_unknown_model_not_found_async(aoai):
    with pytest.raises(openai.NotFoundError) as exc:
        await aoai.chat.completions.create(model="nobody/nothing-e2e", messages=HELLO, stream=True)
    assert "nobody/nothing-e2e" in exc.value.message


def test_unknown_model_streaming_not_found(oai):
    with pytest.raises(openai.NotFoundError):
        oai.chat.completions.create(model="no-such-model-e2e", messages=HELLO, stream=True)


def test_bad_request_missing_messages(oai):
    with pytest.raises(openai.BadRequestError) as exc:
        oai.chat.completions.create(model=OPENAI_MODEL, messages=[])
    assert exc.value.status_code == 400


def _assert_upstream_500(err: openai.APIStatusError, provider: str, started: float) -> None:
    assert isinstance(err, openai.InternalServerError)
    assert err.status_code == 502
    assert err.code == "upstream_error"
    assert provider in err.message
    assert err.response.headers["x-switchyard-error"] == "upstream_error"
    errors = err.response.headers["x-switchyard-attempt-errors"]
    assert "server_error:500" in errors
    assert time.monotonic() - started < 10


# Each fault test uses a model no other test uses: repeated upstream 500s (rightly) put a
# deployment into cooldown.


@pytest.mark.parametrize(
    "model,provider",
    [
        ("gemini/gemini-2.5-flash-lite", "gemini"),
        ("anthropic/claude-opus-4-1", "anthropic"),
        # OpenAI-dialect upstreams send x-ratelimit-reset-* on every response; those must not
        # be read as Retry-After for a 5xx (that made this take ~2 min before the fix).
        ("openai/gpt-4.1-mini", "openai"),
        ("deepseek/deepseek-v3", "deepseek"),
    ],
)
def test_provider_fault_is_502(gateway, model, provider):
    # A short timeout: the gateway retries three times with millisecond backoff.
    client = openai.OpenAI(base_url=gateway.openai_base, api_key="sk-anything", max_retries=0, timeout=8)
    started = time.monotonic()
    with client, pytest.raises(openai.APIStatusError) as exc:
        client.chat.completions.create(model=model, messages=[{"role": "user", "content": "hi [[sim:status=500]]"}])
    _assert_upstream_500(exc.value, provider, started)
    assert exc.value.response.headers["x-switchyard-attempts"] == "3"
    # Upstream 500s are not a rate limit: the client is not told to wait a minute.
    assert int(exc.value.response.headers.get("retry-after", "0")) < 60


def test_provider_fault_streaming_is_502(oai):
    started = time.monotonic()
    with pytest.raises(openai.APIStatusError) as exc:
        oai.chat.completions.create(
            model="gemini/gemini-2.5-pro",
            messages=[{"role": "user", "content": "hi [[sim:status=500]]"}],
            stream=True,
        )
    _assert_upstream_500(exc.value, "gemini", started)


# ---- embeddings -----------------------------------------------------------------------------


def _norm(v) -> float:
    return math.sqrt(sum(x * x for x in v))


def test_embeddings_default_base64_decoding(oai):
    """The SDK asks for base64 by default and decodes it to floats."""
    raw = oai.embeddings.with_raw_response.create(model="text-embedding-3-small", input=["alpha", "beta"])
    assert raw.headers["x-switchyard-provider"] == "openai"
    resp = raw.parse()
    assert [d.index for d in resp.data] == [0, 1]
    for d in resp.data:
        assert len(d.embedding) == 1536
        assert all(isinstance(x, float) for x in d.embedding)
        assert abs(_norm(d.embedding) - 1.0) < 1e-3
    assert resp.data[0].embedding != resp.data[1].embedding
    assert resp.usage.prompt_tokens > 0


def test_embeddings_float_matches_base64(oai):
    as_float = oai.embeddings.create(model="text-embedding-3-small", input="gamma", encoding_format="float")
    as_b64 = oai.embeddings.create(model="text-embedding-3-small", input="gamma")
    assert len(as_float.data[0].embedding) == 1536
    assert as_float.data[0].embedding == pytest.approx(as_b64.data[0].embedding, abs=1e-6)


def test_embeddings_raw_base64_is_little_endian_f32(oai):
    resp = oai.embeddings.create(model="text-embedding-3-small", input="delta", encoding_format="base64", dimensions=64)
    blob = resp.data[0].embedding
    assert isinstance(blob, str)
    decoded = base64.b64decode(blob)
    assert len(decoded) == 64 * 4
    vec = struct.unpack("<64f", decoded)
    assert abs(_norm(vec) - 1.0) < 1e-3


def test_embeddings_dimensions(oai):
    resp = oai.embeddings.create(model="text-embedding-3-small", input="epsilon", dimensions=256)
    assert len(resp.data[0].embedding) == 256


def test_embeddings_gemini(oai):
    raw = oai.embeddings.with_raw_response.create(model="gemini/gemini-embedding-001", input=["a", "b", "c"])
    assert raw.headers["x-switchyard-provider"] == "gemini"
    resp = raw.parse()
    assert len(resp.data) == 3
    assert all(len(d.embedding) == 768 for d in resp.data)


async def test_embeddings_async(aoai):
    resp = await aoai.embeddings.create(model="text-embedding-3-small", input="zeta")
    assert len(resp.data[0].embedding) == 1536


def test_embeddings_unknown_model(oai):
    with pytest.raises(openai.NotFoundError) as exc:
        oai.embeddings.create(model="no-such-embedder-e2e", input="x")
    assert "no-such-embedder-e2e" in exc.value.message


# ---- models ---------------------------------------------------------------------------------


def test_models_list(oai):
    ids = [m.id for m in oai.models.list()]
    assert len(ids) == len(set(ids)), "model ids are unique"
    for expected in ["openai/gpt-4o-mini", "anthropic/claude-sonnet-4-5", "gemini/gemini-2.5-flash", "deepseek/deepseek-chat"]:
        assert expected in ids
    owners = {m.owned_by for m in oai.models.list()}
    assert {"openai", "anthropic", "gemini", "deepseek", "mistral"} <= owners


async def test_models_list_async(aoai):
    page = await aoai.models.list()
    assert any(m.id == "gemini/gemini-2.5-flash" for m in page.data)


@pytest.mark.parametrize("model_id", ["gpt-4o-mini", "anthropic/claude-sonnet-4-5", "gemini/gemini-2.5-flash"])
def test_models_retrieve(oai, model_id):
    m = oai.models.retrieve(model_id)
    assert m.id == model_id
    assert m.object == "model"


def test_models_retrieve_unknown(oai):
    with pytest.raises(openai.NotFoundError):
        oai.models.retrieve("no-such-model-e2e")


# ---- multimodal, reasoning, parameters --------------------------------------------------------


@pytest.mark.parametrize("model", [OPENAI_MODEL, ANTHROPIC_MODEL, GEMINI_MODEL])
def test_image_input(oai, model):
    from helpers import PNG_1X1

    resp = oai.chat.completions.create(
        model=model,
        messages=[
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "What is in this picture?"},
                    {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{PNG_1X1}"}},
                ],
            }
        ],
    )
    assert resp.choices[0].message.content.startswith("I see 1 image.")


def test_reasoning_model_with_max_completion_tokens(oai):
    resp = oai.chat.completions.create(
        model="openai/o3-mini", max_completion_tokens=200, messages=HELLO, reasoning_effort="low"
    )
    assert resp.choices[0].message.content
    assert resp.usage.completion_tokens_details.reasoning_tokens > 0


@pytest.mark.parametrize("model", ["deepseek/deepseek-reasoner", ANTHROPIC_MODEL])
def test_reasoning_content(oai, model):
    extra = {} if "deepseek" in model else {"reasoning_effort": "low"}
    resp = oai.chat.completions.create(model=model, messages=HELLO, **extra)
    msg = resp.choices[0].message
    assert msg.content
    assert (msg.model_extra or {}).get("reasoning_content")


def test_reasoning_content_streaming(oai):
    reasoning, text = "", ""
    for chunk in oai.chat.completions.create(model="deepseek/deepseek-reasoner", messages=HELLO, stream=True):
        for c in chunk.choices:
            reasoning += (c.delta.model_extra or {}).get("reasoning_content") or ""
            text += c.delta.content or ""
    assert reasoning and text


def test_request_id_is_echoed(oai):
    raw = oai.chat.completions.with_raw_response.create(
        model=OPENAI_MODEL, messages=HELLO, extra_headers={"x-request-id": "e2e-request-42"}
    )
    assert raw.headers["x-request-id"] == "e2e-request-42"


def _groq_model(oai) -> str:
    return next(m.id for m in oai.models.list() if m.owned_by == "groq" and "whisper" not in m.id)


def test_unsupported_parameter_dropped_by_default(oai):
    """Groq rejects `logprobs`; the default policy drops it and says so in a header."""
    model = _groq_model(oai)
    raw = oai.chat.completions.with_raw_response.create(model=model, messages=HELLO, logprobs=True)
    assert raw.headers["x-switchyard-provider"] == "groq"
    assert "logprobs" in raw.headers["x-switchyard-dropped-params"]
    assert raw.parse().choices[0].message.content


def test_unsupported_parameter_rejected_on_request(oai):
    model = _groq_model(oai)
    with pytest.raises(openai.BadRequestError) as exc:
        oai.chat.completions.create(
            model=model, messages=HELLO, logprobs=True, extra_headers={"x-switchyard-unsupported-params": "reject"}
        )
    assert exc.value.code == "unsupported_parameter"
    assert exc.value.param == "logprobs"


@pytest.mark.parametrize("policy", [None, "drop"])
def test_unsupported_n_dropped_for_anthropic(oai, policy):
    headers = {"x-switchyard-unsupported-params": policy} if policy else {}
    raw = oai.chat.completions.with_raw_response.create(model=ANTHROPIC_MODEL, messages=HELLO, n=2, extra_headers=headers)
    assert "n" in raw.headers["x-switchyard-dropped-params"].replace(" ", "").split(",")
    assert len(raw.parse().choices) == 1
