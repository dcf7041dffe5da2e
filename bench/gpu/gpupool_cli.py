"""What the GPU bench scripts share: the repository (or bundle) root and the gpupool command.
Imported as a sibling module: the scripts run as `python3 bench/gpu/<script>.py`."""
import os

ROOT = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))


def gpupool_cli(arg):
    """The command that runs gpupool: `arg` split on spaces if given, else node on the bundle or dist."""
    if arg:
        return arg.split()
    bundled = os.path.join(ROOT, "gpupool.mjs")
    return ["node", bundled if os.path.exists(bundled) else os.path.join(ROOT, "dist", "cli", "main.js")]
