"""rlm.sim: the offline simulated model, an OpenAI-compatible HTTP server.

It is a test double and a default model, not a language model: see README.md.
"""
from rlm.sim.faults import FaultConfig
from rlm.sim.models import DEFAULT_MODELS, SIM_LARGE, SIM_SMALL, SimModelSpec
from rlm.sim.policy import PolicyError, ScriptedPolicy
from rlm.sim.policy_auto import AutoPolicy
from rlm.sim.process import SimProcess, start_sim_process
from rlm.sim.profiles import PROFILES, ServerProfile
from rlm.sim.request import ChatRequest
from rlm.sim.server import SimServer

__all__ = [
    "SimServer", "SimModelSpec", "DEFAULT_MODELS", "SIM_LARGE", "SIM_SMALL", "FaultConfig",
    "ScriptedPolicy", "AutoPolicy", "PolicyError", "ChatRequest", "SimProcess", "start_sim_process",
    "PROFILES", "ServerProfile",
]
