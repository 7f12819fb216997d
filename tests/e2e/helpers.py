"""Shared request pieces for the end-to-end tests."""

from __future__ import annotations

import json

# Models reached through the gateway in demo mode, one per upstream dialect family.
OPENAI_MODEL = "gpt-4o-mini"
ANTHROPIC_MODEL = "anthropic/claude-sonnet-4-5"
GEMINI_MODEL = "gemini/gemini-2.5-flash"
DEEPSEEK_MODEL = "deepseek/deepseek-chat"

# (model id, provider expected in x-switchyard-provider)
CHAT_MODELS = [
    (OPENAI_MODEL, "openai"),
    (ANTHROPIC_MODEL, "anthropic"),
    (GEMINI_MODEL, "gemini"),
    (DEEPSEEK_MODEL, "deepseek"),
    ("claude-sonnet-4-5", "anthropic"),  # bare name resolves to its provider
]

WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Current weather for a city.",
        "parameters": {
            "type": "object",
            "properties": {
                "city": {"type": "string"},
                "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
            },
            "required": ["city", "unit"],
        },
    },
}
TIME_TOOL = {
    "type": "function",
    "function": {
        "name": "get_time",
        "description": "Current time in a time zone.",
        "parameters": {
            "type": "object",
            "properties": {"tz": {"type": "string", "enum": ["UTC", "CET"]}},
            "required": ["tz"],
        },
    },
}
OPENAI_TOOLS = [WEATHER_TOOL, TIME_TOOL]

ANTHROPIC_TOOLS = [
    {
        "name": t["function"]["name"],
        "description": t["function"]["description"],
        "input_schema": t["function"]["parameters"],
    }
    for t in OPENAI_TOOLS
]


def accumulate_tool_call_deltas(chunks) -> tuple[dict[int, dict], str | None, object]:
    """Folds streamed OpenAI tool-call deltas by index, as an agent framework does.

    Returns ({index: {"id", "name", "arguments"}}, finish_reason, usage)."""
    calls: dict[int, dict] = {}
    finish = None
    usage = None
    for chunk in chunks:
        if chunk.usage is not None:
            usage = chunk.usage
        for choice in chunk.choices:
            if choice.finish_reason:
                finish = choice.finish_reason
            for tc in choice.delta.tool_calls or []:
                entry = calls.setdefault(tc.index, {"id": None, "name": "", "arguments": ""})
                if tc.id:
                    assert entry["id"] in (None, tc.id), "tool call id changed mid-stream"
                    entry["id"] = tc.id
                if tc.function is not None:
                    if tc.function.name:
                        entry["name"] += tc.function.name
                    if tc.function.arguments:
                        entry["arguments"] += tc.function.arguments
    return calls, finish, usage


def check_weather_args(arguments: str | dict) -> dict:
    args = json.loads(arguments) if isinstance(arguments, str) else arguments
    assert isinstance(args, dict)
    assert isinstance(args["city"], str) and args["city"]
    assert args["unit"] in ("celsius", "fahrenheit")
    return args


# A valid 1x1 PNG, base64.
PNG_1X1 = (
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=="
)
