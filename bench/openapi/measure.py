"""Runs a command once and prints its wall-clock seconds and the peak resident memory of the
process (getrusage of the child), as `SECONDS MIB EXIT`. The command's stdout goes to OUT.
Usage: measure.py OUT COMMAND..."""
import resource
import subprocess
import sys
import time

out, cmd = sys.argv[1], sys.argv[2:]
with open(out, "wb") as f:
    start = time.perf_counter()
    code = subprocess.run(cmd, stdout=f).returncode
    seconds = time.perf_counter() - start
peak_kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
print(f"{seconds:.3f} {peak_kib / 1024:.0f} {code}")
