"""Shared helpers for the PK tests."""

from __future__ import annotations

import numpy as np
from scipy.integrate import solve_ivp

from ketacare.domain.pk.regimen import compile_schedule
from ketacare.domain.pk.solver import build_system


def solve_ivp_reference(params, regimen, times, method="RK45"):
    """Integrate dx/dt = A x + b R with solve_ivp, restarted at every rate change and bolus (rtol 1e-10)."""
    sysm = build_system(params)
    a = sysm.a[0]
    sch = compile_schedule(regimen)
    bp = list(sch.t_min) + [max(times.max(), sch.t_min[-1]) + 1.0]
    x = np.zeros(a.shape[0])
    states = np.empty((times.size, a.shape[0]))
    for k in range(len(bp) - 1):
        x = x.copy()
        x[0] += sch.bolus_mg[k]
        r = sch.rate_mg_per_min[k]
        sel = (times >= bp[k]) & (times < bp[k + 1])
        b = np.zeros_like(x)
        b[0] = r
        extra = {} if method in ("RK45", "DOP853") else {"jac": a}
        sol = solve_ivp(
            lambda _t, y, b=b: a @ y + b,
            (bp[k], bp[k + 1]),
            x,
            method=method,
            rtol=1e-10,
            atol=1e-14,
            t_eval=np.r_[times[sel], bp[k + 1]],
            **extra,
        )
        states[sel] = sol.y[:, :-1].T
        x = sol.y[:, -1]
    return {name: states @ c[0] for name, c in sysm.outputs.items()}
