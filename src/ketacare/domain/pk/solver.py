"""Exact solution of the linear mammillary model (1-3 compartments, effect site, metabolite) for any regimen.

State x (mg): central, peripherals, effect site (amount on the V1 scale, Ce = x_e / V1), metabolite;
dx/dt = A x + b R(t), R piecewise constant, boluses added to the central compartment. A is diagonalised,
A = P diag(-lambda) P^-1; in modal coordinates z = P^-1 x every mode is independent and is propagated
analytically over each interval: z(t + h) = z e^{-lambda h} + beta R (1 - e^{-lambda h}) / lambda,
beta = P^-1 b. No time stepping. Equations: Shafer & Gregg 1992; Jacobs 1990. When ke0 or
the metabolite rate nearly equals a disposition rate, that patient is solved with the matrix exponential
(Van Loan) instead.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ketacare.domain.errors import InvalidValue
from ketacare.domain.pk.catalogue import PkParameters
from ketacare.domain.pk.regimen import Regimen, Schedule, compile_schedule

_MG_PER_L_TO_NG_PER_ML = 1000.0
_GAP_LIMIT = 1e-4  # relative gap between a downstream rate and a disposition rate
OUTPUTS = ("plasma", "effect", "metabolite")


@dataclass(frozen=True)
class LinearSystem:
    """State-space form of n patients: A (n,s,s) in 1/min, input into state 0, outputs (n,s) ng/mL per mg."""

    a: np.ndarray
    outputs: dict[str, np.ndarray]


@dataclass(frozen=True)
class Modes:
    """Modal form: rates lam (n,s) 1/min, input weights beta (n,s) and per-output weights coef[name] (n,s)."""

    lam: np.ndarray
    beta: np.ndarray
    coef: dict[str, np.ndarray]
    ok: np.ndarray


@dataclass(frozen=True)
class ConcentrationProfile:
    """Predicted concentrations (ng/mL) at `times_min`; effect and metabolite are None when not modelled."""

    times_min: np.ndarray
    plasma_ng_per_ml: np.ndarray
    effect_ng_per_ml: np.ndarray | None = None
    metabolite_ng_per_ml: np.ndarray | None = None


def _arr(x: object, n: int) -> np.ndarray:
    return np.broadcast_to(np.asarray(x, dtype=float), (n,)).astype(float)


def build_system(params: PkParameters) -> LinearSystem:
    """Return the state-space matrices of `params` (scalar or per-patient array fields)."""
    fields = [params.v1_l, params.cl_l_per_min]
    n = max(
        np.size(f)
        for f in fields
        + [
            params.v2_l,
            params.v3_l,
            params.q2_l_per_min,
            params.q3_l_per_min,
            params.clm_l_per_min if params.has_metabolite else 0.0,
        ]
    )
    v1, cl = _arr(params.v1_l, n), _arr(params.cl_l_per_min, n)
    nc = params.n_compartments
    if nc not in (1, 2, 3):
        raise InvalidValue("n_compartments", f"{nc} compartments: only 1-3 are supported")
    for name, val in (("v1_l", v1), ("cl_l_per_min", cl)):
        if not np.all(np.isfinite(val) & (val > 0)):
            raise InvalidValue(name, "must be a finite number > 0")
    s = nc + int(params.has_effect_site) + int(params.has_metabolite)
    a = np.zeros((n, s, s))
    k10 = cl / v1
    a[:, 0, 0] = -k10
    for i, (v, q) in enumerate(
        ((params.v2_l, params.q2_l_per_min), (params.v3_l, params.q3_l_per_min))[: nc - 1]
    ):
        v, q = _arr(v, n), _arr(q, n)
        if not np.all(np.isfinite(v) & (v > 0) & np.isfinite(q) & (q > 0)):
            raise InvalidValue("peripheral", "peripheral volumes and clearances must be finite and > 0")
        k1j, kj1 = q / v1, q / v
        a[:, 0, 0] -= k1j
        a[:, 0, i + 1] = kj1
        a[:, i + 1, 0] = k1j
        a[:, i + 1, i + 1] = -kj1
    c_plasma = np.zeros((n, s))
    c_plasma[:, 0] = _MG_PER_L_TO_NG_PER_ML / v1
    outputs = {"plasma": c_plasma}
    idx = nc
    if params.has_effect_site:
        ke0 = _arr(params.ke0_per_min, n)
        if not np.all(np.isfinite(ke0) & (ke0 > 0)):
            raise InvalidValue("ke0_per_min", "must be a finite number > 0")
        a[:, idx, 0] = ke0
        a[:, idx, idx] = -ke0
        c = np.zeros((n, s))
        c[:, idx] = _MG_PER_L_TO_NG_PER_ML / v1
        outputs["effect"] = c
        idx += 1
    if params.has_metabolite:
        clm, vm = _arr(params.clm_l_per_min, n), _arr(params.vm_l, n)
        if not np.all(np.isfinite(clm) & (clm > 0) & np.isfinite(vm) & (vm > 0)):
            raise InvalidValue("metabolite", "metabolite clearance and volume must be finite and > 0")
        a[:, idx, 0] = params.fraction_metabolised * k10
        a[:, idx, idx] = -clm / vm
        c = np.zeros((n, s))
        c[:, idx] = _MG_PER_L_TO_NG_PER_ML / vm
        outputs["metabolite"] = c
    return LinearSystem(a, outputs)


def modes(params: PkParameters) -> Modes:
    """Return the modal form of `params`; flag (ok=False) patients whose modes are ill-conditioned.

    The mammillary block is similar to a symmetric matrix (volumes M, symmetric clearance matrix K: A = -K
    M^-1),
    so it is diagonalised with `eigh` of -M^-1/2 K M^-1/2 (orthogonal eigenvectors, real rates). The
    effect site
    and the metabolite are driven by the central compartment only; their eigenvectors are appended
    analytically.
    """
    system_n = build_system(params)  # validates the parameters
    n = system_n.a.shape[0]
    nc = params.n_compartments
    v = [_arr(params.v1_l, n), _arr(params.v2_l, n), _arr(params.v3_l, n)][:nc]
    q = [_arr(params.q2_l_per_min, n), _arr(params.q3_l_per_min, n)][: nc - 1]
    cl = _arr(params.cl_l_per_min, n)
    sym = np.zeros((n, nc, nc))
    sym[:, 0, 0] = -(cl + sum(q)) / v[0]
    for j in range(1, nc):
        sym[:, j, j] = -q[j - 1] / v[j]
        sym[:, 0, j] = sym[:, j, 0] = q[j - 1] / np.sqrt(v[0] * v[j])
    w, u = np.linalg.eigh(sym)
    lam_p = -w
    sqrt_v1 = np.sqrt(v[0])[:, None]
    beta_p = u[:, 0, :] / sqrt_v1
    p1 = u[:, 0, :] * sqrt_v1  # central-compartment component of each parent eigenvector
    ok = np.all(lam_p > 0, axis=1)
    lam, beta = [lam_p], [beta_p]
    coef_parts = {"plasma": [u[:, 0, :] * (_MG_PER_L_TO_NG_PER_ML / sqrt_v1)]}
    downstream = []
    if params.has_effect_site:
        ke0 = _arr(params.ke0_per_min, n)
        downstream.append(("effect", ke0, ke0, _MG_PER_L_TO_NG_PER_ML / v[0]))
    if params.has_metabolite:
        k10 = cl / v[0]
        downstream.append(
            (
                "metabolite",
                params.fraction_metabolised * k10,
                _arr(params.clm_l_per_min, n) / _arr(params.vm_l, n),
                _MG_PER_L_TO_NG_PER_ML / _arr(params.vm_l, n),
            )
        )
    for name in coef_parts:
        coef_parts[name] += [np.zeros((n, 1))] * len(downstream)
    for d, (name, k_in, k_out, c_out) in enumerate(downstream):
        gap = k_out[:, None] - lam_p
        ok &= np.all(np.abs(gap) > _GAP_LIMIT * np.maximum(k_out[:, None], lam_p), axis=1)
        gap = np.where(np.abs(gap) > 0, gap, 1.0)
        wrow = (k_in[:, None] * p1) / gap
        lam.append(k_out[:, None])
        beta.append(-np.sum(wrow * beta_p, axis=1, keepdims=True))
        parts = [(c_out[:, None] if np.ndim(c_out) else c_out) * wrow]
        parts += [np.zeros((n, 1))] * len(downstream)
        parts[1 + d] = np.broadcast_to(np.asarray(c_out, dtype=float), (n,))[:, None].copy()
        coef_parts[name] = parts
    coef = {k: np.concatenate(v_, axis=1) for k, v_ in coef_parts.items()}
    lam_all = np.concatenate(lam, axis=1)
    lam_all = np.where(ok[:, None], lam_all, 1.0)
    return Modes(lam_all, np.concatenate(beta, axis=1), coef, ok)


def _g(lam: np.ndarray, h: np.ndarray | float) -> np.ndarray:
    """Return (1 - e^{-lam h}) / lam, the unit-rate response of one mode over h minutes."""
    g: np.ndarray = -np.expm1(-lam * h) / lam
    return g


def _check_times(times_min: object) -> np.ndarray:
    t = np.atleast_1d(np.asarray(times_min, dtype=float))
    if t.ndim != 1 or t.size == 0 or not np.all(np.isfinite(t)) or np.any(t < 0):
        raise InvalidValue("times_min", "times must be a non-empty list of finite minutes >= 0")
    return t


def _eval_at_breakpoints(m: Modes, sch: Schedule, t: np.ndarray) -> dict[str, np.ndarray]:
    """Evaluate outputs at arbitrary times: propagate to each breakpoint, then analytically to each time."""
    lam, beta = m.lam, m.beta
    n, s = lam.shape
    nk = sch.t_min.size
    zk = np.empty((n, nk, s))
    z = beta * sch.bolus_mg[0]
    zk[:, 0] = z
    for k in range(nk - 1):
        h = sch.t_min[k + 1] - sch.t_min[k]
        z = z * np.exp(-lam * h) + beta * (sch.rate_mg_per_min[k] * _g(lam, h)) + beta * sch.bolus_mg[k + 1]
        zk[:, k + 1] = z
    seg = np.searchsorted(sch.t_min, t, side="right") - 1
    h = (t - sch.t_min[seg])[None, :, None]
    lam3 = lam[:, None, :]
    zt = zk[:, seg, :] * np.exp(-lam3 * h) + beta[:, None, :] * sch.rate_mg_per_min[seg][None, :, None] * _g(
        lam3, h
    )
    return {name: np.einsum("nts,ns->nt", zt, c) for name, c in m.coef.items()}


def _eval_on_grid(m: Modes, sch: Schedule, t: np.ndarray) -> dict[str, np.ndarray]:
    """Evaluate outputs by stepping over the union of times and breakpoints; exponentials are shared per
    step size.

    Exact like `_eval_at_breakpoints`, but cheaper for many patients on a regular grid.
    """
    grid = np.union1d(sch.t_min, t)
    nk = grid.size
    k = np.searchsorted(sch.t_min, grid, side="right") - 1
    rate = sch.rate_mg_per_min[k]
    bolus = np.zeros(nk)
    bolus[np.searchsorted(grid, sch.t_min)] = sch.bolus_mg
    steps = np.diff(grid)
    uniq, which = np.unique(steps, return_inverse=True)
    lam_t = np.ascontiguousarray(m.lam.T)
    beta_t = np.ascontiguousarray(m.beta.T)
    e = np.exp(-lam_t[None] * uniq[:, None, None])
    bg = beta_t[None] * (-np.expm1(-lam_t[None] * uniq[:, None, None]) / lam_t[None])
    coefs = {name: np.ascontiguousarray(c.T) for name, c in m.coef.items()}
    out = {name: np.empty((nk, lam_t.shape[1])) for name in coefs}
    z = np.zeros_like(lam_t)
    for j in range(nk):
        if bolus[j]:
            z += beta_t * bolus[j]
        for name, c in coefs.items():
            np.einsum("sn,sn->n", c, z, out=out[name][j])
        if j < nk - 1:
            u = which[j]
            z *= e[u]
            if rate[j]:
                z += bg[u] * rate[j]
    pos = np.searchsorted(grid, t)
    return {name: y[pos].T.copy() for name, y in out.items()}


def _solve_modal(params: PkParameters, regimen: Regimen, t: np.ndarray) -> dict[str, np.ndarray]:
    m = modes(params)
    sch = compile_schedule(regimen)
    n = m.lam.shape[0]
    if n * t.size * m.lam.shape[1] <= 200_000:
        out = _eval_at_breakpoints(m, sch, t)
    else:
        out = _eval_on_grid(m, sch, t)
    bad = np.flatnonzero(~m.ok)
    if bad.size:
        system = build_system(params)
        for i in bad:
            ref = simulate_expm_system(system.a[i], {k: c[i] for k, c in system.outputs.items()}, sch, t)
            for name in out:
                out[name][i] = ref[name]
    return out


def simulate_expm_system(
    a: np.ndarray, outputs: dict[str, np.ndarray], sch: Schedule, t: np.ndarray
) -> dict[str, np.ndarray]:
    """Solve one patient with `scipy.linalg.expm` of the augmented matrix on every interval (reference)."""
    import scipy.linalg  # only this reference path needs it; loading it costs every app process memory

    s = a.shape[0]
    aug = np.zeros((s + 1, s + 1))
    aug[:s, :s] = a
    grid = np.union1d(sch.t_min, t)
    k = np.searchsorted(sch.t_min, grid, side="right") - 1
    bolus = np.zeros(grid.size)
    bolus[np.searchsorted(grid, sch.t_min)] = sch.bolus_mg
    x = np.zeros(s)
    states = np.empty((grid.size, s))
    for j in range(grid.size):
        x[0] += bolus[j]
        states[j] = x
        if j < grid.size - 1:
            aug[0, s] = sch.rate_mg_per_min[k[j]]
            phi = scipy.linalg.expm(aug * (grid[j + 1] - grid[j]))
            x = phi[:s, :s] @ x + phi[:s, s]
    pos = np.searchsorted(grid, t)
    return {name: states[pos] @ c for name, c in outputs.items()}


def simulate(params: PkParameters, regimen: Regimen, times_min: object) -> ConcentrationProfile:
    """Return exact plasma (and effect-site / metabolite) concentrations in ng/mL at `times_min` (minutes).

    A bolus given at time t is included in the concentration reported at t. Units: doses in mg, rates in
    mg/min.
    """
    t = _check_times(times_min)
    out = _solve_modal(params, regimen, t)
    squeeze = np.ndim(params.v1_l) == 0 and np.ndim(params.cl_l_per_min) == 0
    res = {k: (v[0] if squeeze else v) for k, v in out.items()}
    for v in res.values():
        np.maximum(v, 0.0, out=v)  # clear -1e-17-scale round-off of the modal sum; concentrations are >= 0
    return ConcentrationProfile(t, res["plasma"], res.get("effect"), res.get("metabolite"))


def simulate_batch(params: PkParameters, regimen: Regimen, times_min: object) -> dict[str, np.ndarray]:
    """Return {output: (n_patients, n_times) ng/mL} for array-valued `params` (the vectorised fast path)."""
    t = _check_times(times_min)
    out = _solve_modal(params, regimen, t)
    for v in out.values():
        np.maximum(v, 0.0, out=v)
    return out
