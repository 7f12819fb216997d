"""The official Anthropic Python SDK against /v1/messages, reaching Anthropic, OpenAI and Gemini
models through the gateway's Anthropic ingress."""

from __future__ import annotations

import time

import anthropic
import pytest

from helpers import ANTHROPIC_TOOLS, check_weather_args

# (model id as the client sends it, provider expected in x-switchyard-provider)
MESSAGE_MODELS = [
    ("claude-sonnet-4-5", "anthropic"),
    ("anthropic/claude-haiku-4-5", "anthropic"),
    ("gpt-4o-mini", "openai"),
    ("gemini/gemini-2.5-flash", "gemini"),
    ("deepseek/deepseek-chat", "deepseek"),
]
MODEL_IDS = [m for m, _ in MESSAGE_MODELS]
HELLO = [{"role": "user", "content": "Say hello to the gateway."}]


def _text(message: anthropic.types.Message) -> str:
    return "".join(b.text for b in message.content if b.type == "text")


# ---- non-streaming --------------------------------------------------------------------------


@pytest.mark.parametrize("model,provider", MESSAGE_MODELS)
def test_messages_non_streaming(anth, model, provider):
    raw = anth.messages.with_raw_response.create(model=model, max_tokens=256, messages=HELLO)
    assert raw.status_code == 200
    assert raw.headers["x-switchyard-provider"] == provider
    assert raw.headers.get("x-request-id")
    msg = raw.parse()
    assert isinstance(msg, anthropic.types.Message)
    assert msg.type == "message"
    assert msg.role == "assistant"
    assert msg.id
    assert msg.stop_reason == "end_turn"
    assert [b.type for b in msg.content] == ["text"]
    assert len(_text(msg).split()) > 3
    assert msg.usage.input_tokens > 0 and msg.usage.output_tokens > 0


@pytest.mark.parametrize("model", ["claude-sonnet-4-5", "gpt-4o-mini", "gemini/gemini-2.5-flash"])
async def test_messages_non_streaming_async(aanth, model):
    msg = await aanth.messages.create(
        model=model,
        max_tokens=256,
        system="You are terse.",
        messages=[{"role": "user", "content": [{"type": "text", "text": "echo: exactly this"}]}],
    )
    assert _text(msg) == "exactly this"


@pytest.mark.parametrize("model", MODEL_IDS)
def test_messages_max_tokens(anth, model):
    msg = anth.messages.create(model=model, max_tokens=5, messages=HELLO)
    assert msg.stop_reason == "max_tokens"
    assert msg.usage.output_tokens == 5
    assert len(_text(msg).split()) == 5


@pytest.mark.parametrize("model", MODEL_IDS)
def test_messages_stop_sequence(anth, model):
    msg = anth.messages.create(
        model=model,
        max_tokens=100,
        messages=[{"role": "user", "content": "echo: one two STOP three"}],
        stop_sequences=["STOP"],
    )
    assert _text(msg).strip() == "one two"
    if model.startswith(("claude", "anthropic/")):
        assert msg.stop_reason == "stop_sequence"
        assert msg.stop_sequence == "STOP"
    else:
        # OpenAI and Gemini do not say which sequence matched.
        assert msg.stop_reason in ("stop_sequence", "end_turn")


def test_messages_multi_turn(anth):
    msg = anth.messages.create(
        model="gemini/gemini-2.5-flash",
        max_tokens=100,
        messages=[
            {"role": "user", "content": "Hi"},
            {"role": "assistant", "content": "Hello! How can I help?"},
            {"role": "user", "content": "echo: second turn"},
        ],
    )
    assert _text(msg) == "second turn"


# ---- streaming ------------------------------------------------------------------------------


@pytest.mark.parametrize("model,provider", MESSAGE_MODELS)
def test_messages_stream_text(anth, model, provider):
    # Headers of streamed replies are checked in test_messages_stream_raw_events.
    full = anth.messages.create(model=model, max_tokens=256, messages=HELLO)
    with anth.messages.stream(model=model, max_tokens=256, messages=HELLO) as stream:
        pieces = list(stream.text_stream)
        final = stream.get_final_message()
    assert len(pieces) > 1, "text arrives in several deltas"
    text = "".join(pieces)
    assert text == _text(final)
    assert text == _text(full), "the simulator is deterministic"
    assert final.stop_reason == "end_turn"
    assert final.usage.output_tokens == full.usage.output_tokens
    assert final.usage.input_tokens > 0


@pytest.mark.parametrize("model,provider", MESSAGE_MODELS)
def test_messages_stream_raw_events(anth, model, provider):
    raw = anth.messages.with_raw_response.create(model=model, max_tokens=256, messages=HELLO, stream=True)
    assert raw.headers["x-switchyard-provider"] == provider
    assert raw.headers["content-type"].startswith("text/event-stream")
    types = [event.type for event in raw.parse()]
    assert types[0] == "message_start"
    assert types[-1] == "message_stop"
    assert "content_block_start" in types and "content_block_stop" in types
    assert types.count("message_delta") == 1
    assert types.index("message_delta") > max(i for i, t in enumerate(types) if t == "content_block_stop")


@pytest.mark.parametrize("model", ["claude-sonnet-4-5", "gpt-4o-mini", "gemini/gemini-2.5-flash"])
async def test_messages_stream_async(aanth, model):
    async with aanth.messages.stream(model=model, max_tokens=256, messages=HELLO) as stream:
        text = "".join([t async for t in stream.text_stream])
        final = await stream.get_final_message()
    assert text and text == _text(final)
    assert final.stop_reason == "end_turn"


# ---- tools ----------------------------------------------------------------------------------


@pytest.mark.parametrize("model", MODEL_IDS)
def test_tool_use(anth, model):
    msg = anth.messages.create(
        model=model,
        max_tokens=256,
        messages=[{"role": "user", "content": "Weather in Paris?"}],
        tools=ANTHROPIC_TOOLS[:1],
    )
    assert msg.stop_reason == "tool_use"
    uses = [b for b in msg.content if b.type == "tool_use"]
    assert len(uses) == 1
    assert uses[0].id and uses[0].name == "get_weather"
    check_weather_args(uses[0].input)


@pytest.mark.parametrize("model", MODEL_IDS)
def test_tool_use_forced(anth, model):
    msg = anth.messages.create(
        model=model,
        max_tokens=256,
        messages=[{"role": "user", "content": "What time is it?"}],
        tools=ANTHROPIC_TOOLS,
        tool_choice={"type": "tool", "name": "get_time"},
    )
    uses = [b for b in msg.content if b.type == "tool_use"]
    assert [u.name for u in uses] == ["get_time"]
    assert uses[0].input == {"tz": "UTC"}


@pytest.mark.parametrize("model", MODEL_IDS)
def test_tool_use_streaming_parallel(anth, model):
    with anth.messages.stream(
        model=model,
        max_tokens=256,
        messages=[{"role": "user", "content": "Weather and time in Paris, in parallel."}],
        tools=ANTHROPIC_TOOLS,
    ) as stream:
        json_deltas = [e for e in stream if e.type == "input_json"]
        final = stream.get_final_message()
    assert json_deltas, "tool input arrives as input_json deltas"
    assert final.stop_reason == "tool_use"
    uses = [b for b in final.content if b.type == "tool_use"]
    assert [u.name for u in uses] == ["get_weather", "get_time"]
    assert len({u.id for u in uses}) == 2
    check_weather_args(uses[0].input)  # the SDK parsed the accumulated partial JSON
    assert uses[1].input == {"tz": "UTC"}


@pytest.mark.parametrize("model", MODEL_IDS)
def test_tool_result_round_trip(anth, model):
    messages = [{"role": "user", "content": "Weather and time in Paris, in parallel."}]
    first = anth.messages.create(model=model, max_tokens=256, messages=messages, tools=ANTHROPIC_TOOLS)
    uses = [b for b in first.content if b.type == "tool_use"]
    assert len(uses) == 2
    messages.append({"role": "assistant", "content": [b.model_dump(exclude_none=True) for b in first.content]})
    messages.append(
        {
            "role": "user",
            "content": [
                {"type": "tool_result", "tool_use_id": uses[0].id, "content": "sunny, 21 degrees"},
                {"type": "tool_result", "tool_use_id": uses[1].id, "content": [{"type": "text", "text": "14:05"}]},
            ],
        }
    )
    second = anth.messages.create(model=model, max_tokens=256, messages=messages, tools=ANTHROPIC_TOOLS)
    assert second.stop_reason == "end_turn"
    assert _text(second).startswith("tool said:")


async def test_tool_use_async(aanth):
    msg = await aanth.messages.create(
        model="gemini/gemini-2.5-flash",
        max_tokens=256,
        messages=[{"role": "user", "content": "Weather?"}],
        tools=ANTHROPIC_TOOLS[:1],
    )
    assert msg.stop_reason == "tool_use"


# ---- errors ---------------------------------------------------------------------------------


def test_unknown_model_not_found(anth):
    with pytest.raises(anthropic.NotFoundError) as exc:
        anth.messages.create(model="no-such-model-e2e", max_tokens=10, messages=HELLO)
    err = exc.value
    assert err.status_code == 404
    assert "no-such-model-e2e" in err.message
    assert err.body["type"] == "error"
    assert err.body["error"]["type"] == "not_found_error"


async def test_unknown_model_not_found_stream_async(aanth):
    with pytest.raises(anthropic.NotFoundError) as exc:
        async with aanth.messages.stream(model="no-such-model-e2e", max_tokens=10, messages=HELLO) as s:
            await s.get_final_message()
    assert "no-such-model-e2e" in exc.value.message


def test_upstream_bad_request_passes_through(anth):
    """Anthropic refuses thinking budgets >= max_tokens: its 400 reaches the client as a 400."""
    with pytest.raises(anthropic.BadRequestError) as exc:
        anth.messages.create(
            model="anthropic/claude-sonnet-4-5",
            max_tokens=100,
            messages=HELLO,
            thinking={"type": "enabled", "budget_tokens": 1024},
        )
    assert exc.value.body["error"]["type"] == "invalid_request_error"
    assert "budget_tokens" in exc.value.message


def test_malformed_request_is_anthropic_shaped(anth):
    with pytest.raises(anthropic.BadRequestError) as exc:
        anth.messages.create(model="claude-sonnet-4-5", max_tokens=10, messages=[])
    assert exc.value.body["type"] == "error"


# Each fault test uses a model no other test uses (upstream 500s put a deployment into cooldown).
@pytest.mark.parametrize(
    "model,provider",
    [("anthropic/claude-opus-4-5", "anthropic"), ("gemini/gemini-3-flash-preview", "gemini")],
)
def test_provider_fault_is_502(anth, model, provider):
    started = time.monotonic()
    with pytest.raises(anthropic.InternalServerError) as exc:
        anth.messages.create(
            model=model, max_tokens=10, messages=[{"role": "user", "content": "hi [[sim:status=500]]"}]
        )
    err = exc.value
    assert err.status_code == 502
    assert provider in err.message
    assert err.body["type"] == "error"
    assert err.body["error"]["type"] == "api_error"
    assert err.response.headers["x-switchyard-attempts"] == "3"
    assert time.monotonic() - started < 10


def test_provider_fault_streaming_is_502(anth):
    with pytest.raises(anthropic.InternalServerError) as exc:
        with anth.messages.stream(
            model="anthropic/claude-opus-4-6",
            max_tokens=10,
            messages=[{"role": "user", "content": "hi [[sim:status=500]]"}],
        ) as stream:
            stream.get_final_message()
    assert exc.value.status_code == 502


# ---- multimodal and reasoning -----------------------------------------------------------------


@pytest.mark.parametrize("model", ["claude-sonnet-4-5", "gpt-4o-mini", "gemini/gemini-2.5-flash"])
def test_image_input(anth, model):
    from helpers import PNG_1X1

    msg = anth.messages.create(
        model=model,
        max_tokens=100,
        messages=[
            {
                "role": "user",
                "content": [
                    {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": PNG_1X1}},
                    {"type": "text", "text": "What is in this picture?"},
                ],
            }
        ],
    )
    assert _text(msg).startswith("I see 1 image.")


@pytest.mark.parametrize("model", ["anthropic/claude-sonnet-4-5", "deepseek/deepseek-reasoner", "gemini/gemini-2.5-flash"])
def test_thinking_blocks(anth, model):
    msg = anth.messages.create(
        model=model,
        max_tokens=4000,
        thinking={"type": "enabled", "budget_tokens": 1024},
        messages=HELLO,
    )
    types = [b.type for b in msg.content]
    assert types[0] == "thinking" and "text" in types
    assert msg.content[0].thinking


@pytest.mark.parametrize("model", ["openai/o3-mini", "openai/gpt-5"])
def test_messages_to_openai_reasoning_model(anth, model):
    msg = anth.messages.create(model=model, max_tokens=500, messages=HELLO)
    assert _text(msg)
