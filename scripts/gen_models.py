#!/usr/bin/env python3
"""Derives crates/switchyard-core/data/models.json from the bundled LiteLLM price table.

Keeps chat and embedding models of the providers Switchyard speaks to natively, with per-token
prices (USD per million tokens) and context windows. Rerun when the reference file changes:
    python3 scripts/gen_models.py ../shared/reference/model_prices_and_context_window.json
"""
import json
import sys

PROVIDERS = {
    "openai": "openai", "anthropic": "anthropic", "gemini": "gemini", "deepseek": "deepseek",
    "mistral": "mistral", "dashscope": "dashscope", "groq": "groq", "together_ai": "together",
    "openrouter": "openrouter", "xai": "xai",
}

def per_mtok(v):
    return None if v is None else round(float(v) * 1_000_000, 6)

def main(path):
    data = json.load(open(path))
    out = []
    for key, v in sorted(data.items()):
        if not isinstance(v, dict):
            continue
        prov = PROVIDERS.get(v.get("litellm_provider"))
        if prov is None or v.get("mode") not in ("chat", "embedding"):
            continue
        model = key.split("/", 1)[1] if key.startswith(v["litellm_provider"] + "/") or key.startswith(prov + "/") else key
        if "/" in model and prov not in ("together", "openrouter", "groq"):
            continue
        out.append({
            "provider": prov,
            "model": model,
            "mode": v["mode"],
            "input": per_mtok(v.get("input_cost_per_token")),
            "output": per_mtok(v.get("output_cost_per_token")),
            "cached_input": per_mtok(v.get("cache_read_input_token_cost")),
            "context": v.get("max_input_tokens") or v.get("max_tokens"),
            "max_output": v.get("max_output_tokens"),
            "reasoning": bool(v.get("supports_reasoning", False)),
        })
    seen = set()
    uniq = []
    for e in out:
        k = (e["provider"], e["model"])
        if k not in seen:
            seen.add(k)
            uniq.append(e)
    json.dump(uniq, sys.stdout, separators=(",", ":"))
    sys.stdout.write("\n")
    print(f"{len(uniq)} models", file=sys.stderr)

if __name__ == "__main__":
    main(sys.argv[1])
