"""Budgeted maximal covering: choose candidate sites, within a budget, that cover the most demand.

Plain Python and numpy, no Django: the planning job builds a :class:`Problem` (``planning.geometry`` does
it from the ward, the demand and the candidate sectors) and runs :func:`greedy` always and :func:`exact`
within a time limit.

The model. Cell ``i`` carries a demand ``weights[i] >= 0`` (what current cameras already cover carries
zero: it adds no gain). Candidate ``j`` costs ``costs[j]`` VND (an integer >= 0) and covers a set of
cells. A chosen set scores the demand of every cell that at least one chosen candidate covers, plus,
with backup coverage, ``backup[i]`` (at most ``weights[i]``, set on the hottest cells) for each cell
that two or more chosen candidates cover. Candidates sharing a ``group`` (the eight headings of one
site) are mutually exclusive: at most one of them is chosen.

- :func:`greedy`: by gain per VND (each candidate's gain kept exact as sites are chosen), plus the
  standard safeguard: when the best single affordable site alone covers more than the greedy plan, that
  site (and greedy on the budget it leaves). Bound: at least (1 - 1/e)/2 of the optimum without
  exclusive headings (about 98-100% in practice).
- :func:`exact`: the mixed-integer programme solved by HiGHS (``highspy``) within a time limit, with an
  explicit relative MIP gap (HiGHS' default is 1e-4); reports the proven bound and the gap (the greedy
  plan stands in if HiGHS finds nothing in time).

A candidate that covers no demand is never chosen. Zero-cost candidates that add demand are always
worth taking; a budget of 0 takes only those. A budget that pays for every useful candidate (and no two
of them exclude each other) takes all of them.
"""

from __future__ import annotations

import heapq
import math
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]

# HiGHS' own default relative gap is 1e-4, which stops short of the optimum on large instances; the
# portal asks for a proven optimum up to rounding.
DEFAULT_MIP_GAP = 1e-6


@dataclass(frozen=True, eq=False)
class Problem:
    """A validated instance; build it with :func:`make_problem`.

    Coverage is stored as compressed rows: candidate ``j`` covers cells
    ``indices[indptr[j]:indptr[j + 1]]`` (sorted, without repeats).
    """

    weights: FloatArray
    costs: IntArray
    indptr: IntArray
    indices: IntArray
    groups: IntArray  # one id per candidate; -1 for a candidate that excludes nothing
    backup: FloatArray | None = None
    useful: npt.NDArray[np.bool_] = field(init=False)

    def __post_init__(self) -> None:
        covered = np.concatenate([[0], np.cumsum(self.weights[self.indices] > 0)])
        useful = covered[self.indptr[1:]] > covered[self.indptr[:-1]]  # covers at least one cell with demand
        object.__setattr__(self, "useful", useful)

    @property
    def n_cells(self) -> int:
        return len(self.weights)

    @property
    def n_candidates(self) -> int:
        return len(self.costs)

    def cells(self, j: int) -> IntArray:
        return self.indices[self.indptr[j] : self.indptr[j + 1]]


@dataclass(frozen=True)
class GreedyResult:
    chosen: list[int]
    objective: float
    cost: int
    seconds: float


@dataclass(frozen=True)
class ExactResult:
    chosen: list[int]
    objective: float
    cost: int
    bound: float  # proven upper bound on the optimum
    gap: float  # (bound - objective) / bound; 0 when proven optimal
    status: str  # "optimal", "time_limit", or HiGHS' model status in lower case
    seconds: float


def _finite_array(values: object, name: str) -> FloatArray:
    try:
        arr = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"{name}: give numbers")
    if arr.ndim != 1:
        raise ValueError(f"{name}: give a flat list of numbers")
    bad = ~np.isfinite(arr)
    if bad.any():
        raise ValueError(f"{name}[{int(np.argmax(bad))}] is not a finite number (NaN or infinite): give a number")
    neg = arr < 0
    if neg.any():
        k = int(np.argmax(neg))
        raise ValueError(f"{name}[{k}] is negative ({arr[k]:g}): give 0 or more")
    return arr


def make_problem(
    weights: Sequence[float] | FloatArray,
    costs: Sequence[int] | IntArray,
    covers: Sequence[Iterable[int]] | tuple[IntArray, IntArray],
    *,
    groups: Sequence[int] | IntArray | None = None,
    backup: Sequence[float] | FloatArray | None = None,
) -> Problem:
    """Check and pack an instance.

    ``covers`` is either one iterable of cell indices per candidate, or ``(indptr, indices)`` as compressed
    rows (what ``planning.geometry`` produces). ``groups``: one integer per candidate; candidates with the
    same id >= 0 exclude each other. ``backup``: a weight per cell for being covered twice (0 <= backup <= weight).
    Raises ValueError naming what to fix.
    """
    w = _finite_array(weights, "weights")
    c = _finite_array(costs, "costs")
    if (c != np.round(c)).any():
        k = int(np.argmax(c != np.round(c)))
        raise ValueError(f"costs[{k}] is not a whole number of VND ({c[k]:g}): give an integer")
    cost = c.astype(np.int64)
    n_cells, n_cand = len(w), len(cost)

    if isinstance(covers, tuple) and len(covers) == 2 and isinstance(covers[0], np.ndarray):
        indptr = np.asarray(covers[0], dtype=np.int64)
        raw = np.asarray(covers[1], dtype=np.int64)
        if len(indptr) != n_cand + 1 or indptr[0] != 0 or (np.diff(indptr) < 0).any() or indptr[-1] != len(raw):
            raise ValueError("covers: indptr must start at 0, never decrease and end at len(indices), one row per candidate")
        row_of = np.repeat(np.arange(n_cand), np.diff(indptr))
    else:
        if len(covers) != n_cand:
            raise ValueError(f"covers: give one list of cells per candidate ({n_cand} candidates, {len(covers)} lists)")
        parts = []
        for j, row in enumerate(covers):
            try:
                r = np.asarray(list(row), dtype=np.float64)
            except (TypeError, ValueError):
                raise ValueError(f"covers[{j}]: give cell indices (integers)")
            if r.ndim != 1 or (r.size and (~np.isfinite(r) | (r != np.round(r))).any()):
                raise ValueError(f"covers[{j}]: cell indices must be whole numbers")
            parts.append(r.astype(np.int64))
        raw = np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64)
        row_of = np.repeat(np.arange(n_cand), [len(r) for r in parts]).astype(np.int64)
    out = (raw < 0) | (raw >= n_cells)
    if out.any():
        k = int(np.argmax(out))
        raise ValueError(
            f"covers[{int(row_of[k])}]: cell index {int(raw[k])} is out of range (there are {n_cells} cells, 0 to {n_cells - 1})"
        )
    order = np.lexsort((raw, row_of))
    raw, row_of = raw[order], row_of[order]
    fresh = np.ones(len(raw), dtype=bool)
    fresh[1:] = (raw[1:] != raw[:-1]) | (row_of[1:] != row_of[:-1])  # drop a cell listed twice for one candidate
    indices, row_of = raw[fresh], row_of[fresh]
    indptr = np.zeros(n_cand + 1, dtype=np.int64)
    np.cumsum(np.bincount(row_of, minlength=n_cand), out=indptr[1:])

    if groups is None:
        g = np.full(n_cand, -1, dtype=np.int64)
    else:
        g = np.asarray(groups)
        if g.shape != (n_cand,) or not np.issubdtype(g.dtype, np.integer):
            raise ValueError(f"groups: give one integer per candidate ({n_cand})")
        g = g.astype(np.int64)

    b = None
    if backup is not None:
        b = _finite_array(backup, "backup")
        if len(b) != n_cells:
            raise ValueError(f"backup: give one weight per cell ({n_cells})")
        over = b > w
        if over.any():
            k = int(np.argmax(over))
            raise ValueError(
                f"backup[{k}] ({b[k]:g}) is more than the cell's weight ({w[k]:g}): a second camera may not count more than the first"
            )
        if not b.any():
            b = None
    return Problem(weights=w, costs=cost, indptr=indptr, indices=indices, groups=g, backup=b)


def _check_budget(budget: float) -> float:
    try:
        value = float(budget)
    except (TypeError, ValueError):
        raise ValueError("budget: give an amount in VND")
    if not math.isfinite(value):
        raise ValueError("budget is not a finite number: give an amount in VND")
    if value < 0:
        raise ValueError(f"budget is negative ({value:g}): give 0 or more VND")
    return value


def _counts(problem: Problem, chosen: Iterable[int]) -> IntArray:
    """How many of ``chosen`` cover each cell."""
    picks = np.asarray(list(chosen), dtype=np.int64)
    times = np.bincount(picks, minlength=problem.n_candidates) if len(picks) else np.zeros(problem.n_candidates, dtype=np.int64)
    per_entry = np.repeat(times, np.diff(problem.indptr))
    return np.bincount(problem.indices, weights=per_entry, minlength=problem.n_cells).astype(np.int64)


def evaluate(problem: Problem, chosen: Iterable[int]) -> float:
    """The demand a set of candidates covers (with backup coverage where the problem has it)."""
    count = _counts(problem, chosen)
    total = float(problem.weights[count >= 1].sum())
    if problem.backup is not None:
        total += float(problem.backup[count >= 2].sum())
    return total


def site_gains(problem: Problem, chosen: Sequence[int]) -> list[float]:
    """For each chosen candidate, the demand lost were it left out (its own contribution to the plan)."""
    count = _counts(problem, chosen)
    gains = []
    for j in chosen:
        cells = problem.cells(int(j))
        k = count[cells]
        lost = problem.weights[cells][k == 1].sum()
        if problem.backup is not None:
            lost += problem.backup[cells][k == 2].sum()
        gains.append(float(lost))
    return gains


def _all_useful_fit(problem: Problem, budget: float) -> list[int] | None:
    useful = np.flatnonzero(problem.useful)
    if problem.costs[useful].sum() > budget:
        return None
    g = problem.groups[useful]
    g = g[g >= 0]
    if len(np.unique(g)) != len(g):
        return None
    return [int(j) for j in useful]


class _Greedy:
    """Greedy by gain per VND with exact gains kept up to date.

    ``count`` holds how many chosen sites cover each cell; when a site is chosen, the gain of every
    candidate sharing one of its cells drops by what that cell no longer adds (through the transposed
    coverage, cell -> candidates). The loop is plain Python over lists: a step touches a few dozen
    cells, where numpy's per-call cost would dominate.
    """

    def __init__(self, problem: Problem) -> None:
        p = self.p = problem
        rows = np.repeat(np.arange(p.n_candidates), np.diff(p.indptr))
        order = np.argsort(p.indices, kind="stable")
        t_ptr = np.zeros(p.n_cells + 1, dtype=np.int64)
        np.cumsum(np.bincount(p.indices, minlength=p.n_cells), out=t_ptr[1:])
        self.t_cands: list[int] = rows[order].tolist()
        self.t_ptr: list[int] = t_ptr.tolist()
        self.indices: list[int] = p.indices.tolist()
        self.indptr: list[int] = p.indptr.tolist()
        self.w: list[float] = p.weights.tolist()
        self.b: list[float] | None = None if p.backup is None else p.backup.tolist()
        self.objective = 0.0  # of the last run

    def gains(self, count: IntArray) -> FloatArray:
        """Every candidate's gain given ``count`` (vectorised)."""
        p = self.p
        k = count[p.indices]
        vals = np.where(k == 0, p.weights[p.indices], 0.0)
        if p.backup is not None:
            vals += np.where(k == 1, p.backup[p.indices], 0.0)
        csum = np.concatenate([[0.0], np.cumsum(vals)])
        return np.maximum(csum[p.indptr[1:]] - csum[p.indptr[:-1]], 0.0)

    def run(self, budget: float, seed: int | None = None) -> list[int]:
        p = self.p
        gains: list[float] = self.gains(np.zeros(p.n_cells, dtype=np.int64)).tolist()
        count = [0] * p.n_cells
        chosen: list[int] = []
        picked: set[int] = set()
        taken_groups: set[int] = set()
        left = budget
        costs: list[int] = p.costs.tolist()
        groups: list[int] = p.groups.tolist()
        t_ptr, t_cands, indices, indptr, w, b = self.t_ptr, self.t_cands, self.indices, self.indptr, self.w, self.b

        def key(j: int, g: float) -> tuple[float, float, int]:
            return (-math.inf if costs[j] == 0 else -g / costs[j], -g, j)

        objective = 0.0

        def take(j: int) -> None:
            nonlocal left, objective
            objective += gains[j]
            chosen.append(j)
            picked.add(j)
            left -= costs[j]
            if groups[j] >= 0:
                taken_groups.add(groups[j])
            for c in indices[indptr[j] : indptr[j + 1]]:
                k = count[c]
                count[c] = k + 1
                # What the cell no longer adds to the candidates covering it.
                if k == 0:
                    loss = w[c] - (b[c] if b is not None else 0.0)
                elif k == 1 and b is not None:
                    loss = b[c]
                else:
                    continue
                if loss:
                    for r in t_cands[t_ptr[c] : t_ptr[c + 1]]:
                        gains[r] -= loss

        if seed is not None:
            take(seed)
        # A heap of (key, candidate); a key is stale once the candidate's gain dropped. Gains only
        # drop, so a popped candidate whose key is still current is the best one.
        heap = [key(j, gains[j]) for j in np.flatnonzero(p.useful & (p.costs <= left)).tolist() if gains[j] > 0]
        heapq.heapify(heap)
        while heap:
            _, neg_gain, j = heapq.heappop(heap)
            if costs[j] > left or (groups[j] >= 0 and groups[j] in taken_groups) or j in picked:
                continue  # the budget left only shrinks, groups stay taken: never again
            g = gains[j]
            if g <= 1e-12:
                continue
            if g != -neg_gain:
                heapq.heappush(heap, key(j, g))
                continue
            take(j)
        self.objective = objective
        return chosen


def greedy(problem: Problem, budget: float) -> GreedyResult:
    """Greedy by gain per VND with the best-single-site safeguard. See the module's docstring."""
    budget = _check_budget(budget)
    start = time.perf_counter()
    everything = _all_useful_fit(problem, budget)
    if everything is not None:
        chosen = everything
    else:
        solver = _Greedy(problem)
        chosen = solver.run(budget)
        best = solver.objective
        # Safeguard: the affordable site that covers the most on its own, when it beats the greedy
        # plan alone; then greedy fills what budget it leaves (which can only add).
        affordable = np.flatnonzero(problem.useful & (problem.costs <= budget))
        if len(affordable):
            alone = solver.gains(np.zeros(problem.n_cells, dtype=np.int64))[affordable]
            top = int(affordable[int(np.argmax(alone))])
            if float(alone.max()) > best:
                chosen = solver.run(budget, seed=top)
    seconds = time.perf_counter() - start
    return GreedyResult(
        chosen=sorted(chosen),
        objective=evaluate(problem, chosen),
        cost=int(problem.costs[chosen].sum()) if chosen else 0,
        seconds=seconds,
    )


def _signature_classes(problem: Problem, cand: IntArray) -> tuple[IntArray, IntArray, IntArray]:
    """Group the cells with demand by the set of candidates (among ``cand``) covering them.

    Returns (class of each cell or -1, number of covering candidates per class, a member cell per class).
    Cells whose covering sets are equal share one variable in the model; the sets are told apart by two
    independent random 64-bit sums (a collision is about 1e-29 likely for 10^5 cells).
    """
    rng = np.random.default_rng(20261125)
    keys = rng.integers(0, np.iinfo(np.int64).max, size=(2, len(cand)), dtype=np.int64).astype(np.uint64)
    lengths = (problem.indptr[cand + 1] - problem.indptr[cand]).astype(np.int64)
    rows = np.repeat(np.arange(len(cand)), lengths)
    cells = np.concatenate([problem.cells(int(j)) for j in cand]) if len(cand) else np.zeros(0, dtype=np.int64)
    h1 = np.zeros(problem.n_cells, dtype=np.uint64)
    h2 = np.zeros(problem.n_cells, dtype=np.uint64)
    n = np.zeros(problem.n_cells, dtype=np.int64)
    np.add.at(h1, cells, keys[0][rows])
    np.add.at(h2, cells, keys[1][rows])
    np.add.at(n, cells, 1)
    live = np.flatnonzero((n > 0) & (problem.weights > 0))
    sig = np.stack([h1[live], h2[live], n[live].astype(np.uint64)], axis=1)
    _, first, inverse = np.unique(sig, axis=0, return_index=True, return_inverse=True)
    cls = np.full(problem.n_cells, -1, dtype=np.int64)
    cls[live] = inverse.reshape(-1)
    return cls, n[live[first]], live[first]


def exact(
    problem: Problem,
    budget: float,
    time_limit_s: float = 60.0,
    *,
    mip_gap: float = DEFAULT_MIP_GAP,
    fallback: GreedyResult | None = None,
) -> ExactResult:
    """Solve the covering MILP with HiGHS within ``time_limit_s`` seconds, to a relative gap of ``mip_gap``.

    Variables: x_j in {0, 1} per useful candidate; per class of cells covered by the same two or more
    candidates, y_k in [0, 1] (covered) and, with backup, z_k in [0, 1] (covered twice), with
    y_k + z_k <= sum of x_j over the candidates covering it. Cells only one candidate covers count in
    that candidate's own objective coefficient. Rows: that cover row per class, the budget, one row per
    group of mutually exclusive candidates.

    ``fallback``: the greedy plan for this budget, when the caller has it (else it is computed): what is
    returned if HiGHS finds no better plan in time.
    """
    import highspy

    budget = _check_budget(budget)
    try:
        limit = float(time_limit_s)
        gap_wanted = float(mip_gap)
    except (TypeError, ValueError):
        raise ValueError("time_limit_s and mip_gap: give numbers")
    if not (math.isfinite(limit) and limit > 0):
        raise ValueError("time_limit_s must be more than 0 seconds")
    if not (math.isfinite(gap_wanted) and 0 <= gap_wanted < 1):
        raise ValueError("mip_gap must be at least 0 and less than 1 (e.g. 1e-6)")
    start = time.perf_counter()

    def result(chosen: list[int], bound: float | None, status: str) -> ExactResult:
        objective = evaluate(problem, chosen)
        bound = objective if bound is None else max(bound, objective)
        return ExactResult(
            chosen=sorted(chosen),
            objective=objective,
            cost=int(problem.costs[chosen].sum()) if chosen else 0,
            bound=bound,
            gap=(bound - objective) / bound if 0 < bound < math.inf else (math.inf if bound == math.inf else 0.0),
            status=status,
            seconds=time.perf_counter() - start,
        )

    everything = _all_useful_fit(problem, budget)
    if everything is not None:
        return result(everything, None, "optimal")
    cand = np.flatnonzero(problem.useful & (problem.costs <= budget))
    if len(cand) == 0:
        return result([], None, "optimal")
    warm = fallback if fallback is not None and fallback.cost <= budget else greedy(problem, budget)

    p = problem
    cls, members, rep = _signature_classes(p, cand)
    n_x, n_cls = len(cand), len(members)
    shared = np.flatnonzero(members >= 2)  # classes that get their own variables
    col_of_class = np.full(n_cls, -1, dtype=np.int64)
    col_of_class[shared] = np.arange(len(shared))
    w_cls = np.zeros(n_cls)
    live = cls >= 0
    np.add.at(w_cls, cls[live], p.weights[live])
    b_cls = np.zeros(n_cls)
    if p.backup is not None:
        np.add.at(b_cls, cls[live], p.backup[live])

    # Objective: x_j gets the weight of the cells only it covers.
    lengths = (p.indptr[cand + 1] - p.indptr[cand]).astype(np.int64)
    rows_x = np.repeat(np.arange(n_x), lengths)
    cells = np.concatenate([p.cells(int(j)) for j in cand])
    c_of_cell = cls[cells]
    keep = c_of_cell >= 0
    rows_x, c_of_cell, cells = rows_x[keep], c_of_cell[keep], cells[keep]
    single = members[c_of_cell] == 1
    obj_x = np.zeros(n_x)
    np.add.at(obj_x, rows_x[single], p.weights[cells[single]])
    pairs = np.unique(np.stack([rows_x[~single], col_of_class[c_of_cell[~single]]], axis=1), axis=0)

    with_backup = p.backup is not None and bool(b_cls[shared].any())
    n_y = len(shared)
    n_z = n_y if with_backup else 0
    n_col = n_x + n_y + n_z
    obj = np.concatenate([obj_x, w_cls[shared], b_cls[shared] if with_backup else np.zeros(0)])

    # Rows: 0..n_y-1 cover rows, n_y the budget, then the groups.
    r_list = [pairs[:, 1], np.arange(n_y)]
    c_list = [pairs[:, 0], n_x + np.arange(n_y)]
    v_list = [np.full(len(pairs), -1.0), np.ones(n_y)]
    if with_backup:
        r_list.append(np.arange(n_y))
        c_list.append(n_x + n_y + np.arange(n_y))
        v_list.append(np.ones(n_y))
    paid = np.flatnonzero(p.costs[cand] > 0)
    r_list.append(np.full(len(paid), n_y))
    c_list.append(paid)
    v_list.append(p.costs[cand][paid].astype(np.float64))
    n_row = n_y + 1
    g = p.groups[cand]
    ids, counts = np.unique(g[g >= 0], return_counts=True)
    multi = ids[counts >= 2]
    if len(multi):
        in_multi = np.flatnonzero(np.isin(g, multi))
        r_list.append(n_row + np.searchsorted(multi, g[in_multi]))
        c_list.append(in_multi)
        v_list.append(np.ones(len(in_multi)))
        n_row += len(multi)
    r = np.concatenate(r_list)
    c = np.concatenate(c_list)
    v = np.concatenate(v_list)
    order = np.lexsort((r, c))
    r, c, v = r[order], c[order], v[order]
    starts = np.searchsorted(c, np.arange(n_col + 1))

    lp = highspy.HighsLp()
    lp.num_col_ = n_col
    lp.num_row_ = n_row
    lp.sense_ = highspy.ObjSense.kMaximize
    lp.col_cost_ = obj
    lp.col_lower_ = np.zeros(n_col)
    lp.col_upper_ = np.ones(n_col)
    row_upper = np.zeros(n_row)
    row_upper[n_y] = budget
    row_upper[n_y + 1 :] = 1.0
    lp.row_lower_ = np.full(n_row, -highspy.kHighsInf)
    lp.row_upper_ = row_upper
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.num_col_ = n_col
    lp.a_matrix_.num_row_ = n_row
    lp.a_matrix_.start_ = starts.astype(np.int32)
    lp.a_matrix_.index_ = r.astype(np.int32)
    lp.a_matrix_.value_ = v
    lp.integrality_ = [highspy.HighsVarType.kInteger] * n_x + [highspy.HighsVarType.kContinuous] * (n_y + n_z)

    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    h.setOptionValue("mip_rel_gap", gap_wanted)
    h.setOptionValue("mip_abs_gap", 1e-9)
    h.setOptionValue("time_limit", max(0.01, limit - (time.perf_counter() - start)))
    h.setOptionValue("random_seed", 0)
    h.passModel(lp)
    # No warm start: with highspy 1.16, after setSolution() the MIP reports the optimum it found but
    # getSolution() hands back the start. The greedy plan is the fallback when no incumbent is found.
    h.run()

    status = h.getModelStatus()
    info = h.getInfo()
    sol = h.getSolution()
    if sol.value_valid:
        xs = np.asarray(sol.col_value[:n_x])
        chosen = [int(cand[k]) for k in np.flatnonzero(xs > 0.5)]
    else:
        chosen = list(warm.chosen)
    if evaluate(p, chosen) < warm.objective:  # never report worse than the warm start
        chosen = list(warm.chosen)
    name = {
        highspy.HighsModelStatus.kOptimal: "optimal",
        highspy.HighsModelStatus.kTimeLimit: "time_limit",
    }.get(status, h.modelStatusToString(status).lower().replace(" ", "_"))
    bound = float(info.mip_dual_bound) if math.isfinite(info.mip_dual_bound) else math.inf
    return result(chosen, bound, name)
