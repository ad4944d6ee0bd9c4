"""ScriptedPolicy: the project's test double for model conversations."""
from __future__ import annotations

import concurrent.futures

import openai
import pytest

from rlm.sim import ScriptedPolicy, SimServer


def _ask(client, model="sim-large", content="hi"):
    return client.chat.completions.create(model=model, messages=[{"role": "user", "content": content}])


def test_list_replies_in_order_then_clear_error():
    policy = ScriptedPolicy(["one", "two"])
    with SimServer(policy=policy) as sim:
        client = sim.openai_client(max_retries=2)
        assert _ask(client).choices[0].message.content == "one"
        assert _ask(client, content="again").choices[0].message.content == "two"
        with pytest.raises(openai.InternalServerError) as info:
            _ask(client, content="third")
        assert "exhausted" in info.value.message
        assert len(policy.calls) == 3  # not retried: the error says x-should-retry false


def test_function_form_and_per_model_dict():
    echo = ScriptedPolicy(lambda req: req.messages[-1]["content"].upper())
    with SimServer(policy={"sim-large": echo, "sim-small": lambda req: "small"}) as sim:
        client = sim.openai_client(max_retries=0)
        assert _ask(client, content="abc").choices[0].message.content == "ABC"
        assert _ask(client, model="sim-small").choices[0].message.content == "small"
        assert echo.calls[0].prompt_tokens > 0 and echo.calls[0].context_window == 131072


def test_thread_safe_consumption():
    replies = [f"r{i}" for i in range(40)]
    with SimServer(policy=ScriptedPolicy(replies)) as sim:
        client = sim.openai_client(max_retries=0)
        with concurrent.futures.ThreadPoolExecutor(8) as pool:
            got = list(pool.map(lambda i: _ask(client, content=f"q{i}").choices[0].message.content, range(40)))
    assert sorted(got) == sorted(replies)


def test_broken_policy_is_a_500_and_server_survives():
    def broken(req):
        raise RuntimeError("boom")

    with SimServer(policy={"sim-large": broken, "*": "auto"}) as sim:
        client = sim.openai_client(max_retries=0)
        with pytest.raises(openai.InternalServerError, match="boom"):
            _ask(client)
        assert _ask(client, model="sim-small").choices[0].message.content == "NOT FOUND"
