"""Methods that run other RLM implementations, their model calls recorded through rlm.proxy."""
