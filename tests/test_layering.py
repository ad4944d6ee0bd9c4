"""Dependencies point one way: the library never imports the harness or Hydra."""
import subprocess
import sys


def test_rlm_does_not_import_evals_or_hydra():
    code = ("import sys, rlm, rlm.telemetry, rlm.sim; "
            "bad = [m for m in sys.modules if m.split('.')[0] in ('evals', 'hydra', 'omegaconf')]; "
            "print(bad); sys.exit(1 if bad else 0)")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
