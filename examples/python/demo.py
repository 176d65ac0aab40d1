"""qdml's demo from Python (what `qdml demo` does): the ground state of a tilted 2D double well by
imaginary time, sitting on the global minimum, and a free Gaussian packet that moves and spreads as the
closed form says. Plots into demo_ground.png and demo_packet.png where matplotlib is installed.

    pip install .            # from the source tree
    python examples/python/demo.py
"""
import numpy as np

import qdml

ctx = qdml.Context()  # "auto": CUDA where a device is present, else the CPU
grid = qdml.Grid(n=(128, 128), box=[(-4, 4), (-4, 4)])
x, y = grid.x

# 1. The tilted double well V = 2 (x^2 - 1)^2 + y^2 + 0.3 x at hbar = 0.5: its ground state, from the
#    uniform state (no preference for either well), sits in the left well, the global minimum.
well = qdml.Problem(ctx, grid)
well.potential = 2 * (x ** 2 - 1) ** 2 + y ** 2 + 0.3 * x
well.hbar = 0.5
well.set_uniform()
g = well.ground(tol=1e-8)[0]
print(f"ground state: E = {g.final.energy:.10f}, residual {g.final.residual:.1e} ({g.method}, {g.steps} steps)")
print(f"  density maximum at ({g.final.argmax[0]:.3f}, {g.final.argmax[1]:.3f}); <x> = {g.final.mean[0]:.4f}")

# 2. A free packet: width sigma0 sqrt(1 + (hbar t / 2 m sigma0^2)^2), centre x0 + hbar k0 t / m, on a box
#    wide enough that its tails do not wrap around (the grid is periodic).
wide = qdml.Grid(n=(256, 256), box=[(-16, 16), (-16, 16)])
free = qdml.Problem(ctx, wide)
free.potential = np.zeros(wide.shape)
free.set_gaussian(center=(-1.5, 0.0), width=(0.5, 0.5), momentum=(2.0, 0.0))
r = free.evolve(dt=0.005, steps=300, mode="real")[0]
t = r.final.time
print(f"free packet at t = {t:.3f}: width {r.final.width[0]:.10f} (closed form "
      f"{0.5 * np.sqrt(1 + (t / (2 * 0.25)) ** 2):.10f}), centre {r.final.mean[0]:.6f} (closed form {-1.5 + 2 * t:.6f})")

try:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
except ImportError:
    plt = None
if plt is not None:
    for name, prob, title in (("demo_ground.png", well, "ground state |psi|^2, tilted double well"),
                              ("demo_packet.png", free, f"free packet |psi|^2 at t = {t:g}")):
        fig, ax = plt.subplots(figsize=(6, 5))
        (x0, x1), (y0, y1) = prob.grid.box
        im = ax.imshow(prob.density().T, origin="lower", extent=[x0, x1, y0, y1], cmap="viridis")
        ax.set_xlabel("x")
        ax.set_ylabel("y")
        ax.set_title(title)
        fig.colorbar(im, ax=ax, label="|psi|^2")
        fig.savefig(name, dpi=100)
        print("wrote", name)
