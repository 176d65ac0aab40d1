"""The examples people copy: the README's Python example (the first ```python block) and
examples/python/demo.py run as written, and say what their closed forms say."""
import os
import re
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def test_the_readme_example_runs_as_written(tmp_path):
    text = open(os.path.join(ROOT, "README.md")).read()
    block = re.search(r"```python\n(.*?)```", text, re.S).group(1)
    out = subprocess.run([sys.executable, "-c", block], cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    energy = float(out.stdout.split()[0])
    assert abs(energy - 1.0) < 1e-8, out.stdout  # the 2D oscillator's ground state, hbar = m = 1


def test_the_demo_example(tmp_path):
    out = subprocess.run([sys.executable, os.path.join(ROOT, "examples", "python", "demo.py")], cwd=tmp_path,
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    m = re.search(r"width ([0-9.]+) \(closed form ([0-9.]+)\), centre ([-0-9.]+) \(closed form ([-0-9.]+)\)", out.stdout)
    assert m, out.stdout
    w, wc, c, cc = map(float, m.groups())
    assert abs(w - wc) < 1e-8 and abs(c - cc) < 1e-5
    assert re.search(r"density maximum at \(-0\.9", out.stdout), out.stdout  # the left well: the global minimum
