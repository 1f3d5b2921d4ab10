"""The stream engine: sources, operators, time and windows, keyed state, checkpoints, runtime."""
