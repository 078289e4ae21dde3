"""New-site planning: the covering optimiser and the geometry that feeds it (no database)."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from planning.geometry import PriorityArea, Projection, Sector, Site, build_problem, demand, make_grid, sectors_cover
from planning.optimizer import evaluate, exact, greedy, make_problem, site_gains

GREEDY_BOUND = (1 - 1 / math.e) / 2

# Cells 0-3 carry demand 5, 5, 2, 2; cell 4 is already seen by a current camera (demand 0).
# Site 0 (4 M VND) covers cells 0, 1: 10, the best gain per VND (2.5).
# Sites 1 and 2 (3 M VND each) cover 0, 2 and 1, 3: 7 each (2.33 per VND), 14 together.
# Site 3 (1 M VND) only sees the already-covered cell 4.
WEIGHTS = [5.0, 5.0, 2.0, 2.0, 0.0]
COSTS = [4_000_000, 3_000_000, 3_000_000, 1_000_000]
COVERS = [[0, 1], [0, 2], [1, 3], [4]]


def hand_instance():
    return make_problem(WEIGHTS, COSTS, COVERS)


def brute_force(problem, budget, groups=None):
    best = 0.0
    for r in range(problem.n_candidates + 1):
        for chosen in itertools.combinations(range(problem.n_candidates), r):
            if sum(int(problem.costs[j]) for j in chosen) > budget:
                continue
            if groups is not None:
                used = [groups[j] for j in chosen if groups[j] >= 0]
                if len(used) != len(set(used)):
                    continue
            best = max(best, evaluate(problem, chosen))
    return best


def test_exact_finds_the_known_optimum_and_greedy_stays_within_its_bound():
    problem = hand_instance()
    budget = 6_000_000

    best = exact(problem, budget, time_limit_s=10)
    assert best.chosen == [1, 2]
    assert best.objective == 14.0
    assert best.cost == 6_000_000
    assert best.status == "optimal"
    assert best.bound == pytest.approx(14.0, rel=1e-6)
    assert best.gap <= 1e-6

    quick = greedy(problem, budget)
    # Greedy takes site 0 first (best per VND); sites 1 and 2 no longer fit: 10 of 14.
    assert quick.chosen == [0]
    assert quick.objective == 10.0
    assert quick.cost <= budget
    assert quick.objective >= GREEDY_BOUND * best.objective
    assert site_gains(problem, best.chosen) == [7.0, 7.0]


def test_greedy_safeguard_takes_the_best_single_site_when_greedy_alone_is_worse():
    # The cheap site has the best gain per VND but leaves no room for the big one.
    problem = make_problem([2.0, 15.0], [1, 10], [[0], [1]])
    result = greedy(problem, 10)
    assert result.chosen == [1]
    assert result.objective == 15.0
    assert exact(problem, 10, time_limit_s=10).objective == 15.0


def test_budget_zero_picks_nothing_unless_a_useful_site_is_free():
    problem = hand_instance()
    for solve in (lambda b: greedy(problem, b), lambda b: exact(problem, b, time_limit_s=10)):
        result = solve(0)
        assert result.chosen == []
        assert result.objective == 0.0
        assert result.cost == 0

    # A free site that adds demand is taken even with no money; a free useless one is not.
    free = make_problem([1.0, 3.0, 0.0], [0, 5, 0], [[0], [1], [2]])
    assert greedy(free, 0).chosen == [0]
    assert exact(free, 0, time_limit_s=10).chosen == [0]
    assert greedy(free, 100).chosen == [0, 1]


def test_budget_above_the_total_picks_every_useful_site():
    problem = hand_instance()
    budget = sum(COSTS) + 1
    for result in (greedy(problem, budget), exact(problem, budget, time_limit_s=10)):
        assert result.chosen == [0, 1, 2]  # site 3 only sees what is already covered
        assert result.objective == 14.0
        assert result.cost == 10_000_000


def test_an_already_covered_area_adds_no_gain():
    problem = hand_instance()
    assert not problem.useful[3]
    assert evaluate(problem, [3]) == 0.0
    assert evaluate(problem, [0, 3]) == evaluate(problem, [0])
    # Only the already-covered cell is cheap enough: nothing is worth buying.
    assert greedy(problem, 2_000_000).chosen == []
    assert exact(problem, 2_000_000, time_limit_s=10).chosen == []


def test_mutually_exclusive_headings_choose_at_most_one_per_site():
    # Candidates 0-2 are three headings of one site (group 7), each seeing different cells;
    # candidate 3 is another site.
    weights = [4.0, 3.0, 2.0, 1.0]
    problem = make_problem(weights, [1, 1, 1, 1], [[0], [1], [2], [3]], groups=[7, 7, 7, -1])
    for result in (greedy(problem, 10), exact(problem, 10, time_limit_s=10)):
        assert result.chosen == [0, 3]
        assert result.objective == 5.0


def test_backup_coverage_counts_a_second_camera_on_the_hottest_cells():
    # Cell 0 is hot: a second camera on it is worth 3 more.
    problem = make_problem([6.0, 1.0, 1.0], [1, 1, 1], [[0], [0, 1], [2]], backup=[3.0, 0.0, 0.0])
    assert evaluate(problem, [0, 1]) == 10.0
    result = exact(problem, 2, time_limit_s=10)
    assert result.chosen == [0, 1]
    assert result.objective == 10.0
    assert greedy(problem, 2).objective == 10.0


def test_random_small_instances_match_brute_force():
    rng = np.random.default_rng(7)
    for _ in range(25):
        weights = rng.integers(0, 5, 20).astype(float)
        costs = rng.integers(0, 5, 8)
        covers = [rng.choice(20, rng.integers(0, 7), replace=False) for _ in range(8)]
        groups = rng.integers(-1, 3, 8)
        problem = make_problem(weights, costs, covers, groups=groups)
        budget = int(rng.integers(0, 12))
        optimum = brute_force(problem, budget, groups.tolist())
        result = exact(problem, budget, time_limit_s=10)
        assert result.objective == pytest.approx(optimum)
        quick = greedy(problem, budget)
        assert quick.cost <= budget
        assert quick.objective <= optimum + 1e-9
        used = [groups[j] for j in quick.chosen if groups[j] >= 0]
        assert len(used) == len(set(used))


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"costs": [-1, 3, 3, 1]}, r"costs\[0\] is negative"),
        ({"costs": [1.5, 3, 3, 1]}, r"costs\[0\] is not a whole number"),
        ({"weights": [5.0, -5.0, 2.0, 2.0, 0.0]}, r"weights\[1\] is negative"),
        ({"weights": [5.0, 5.0, math.nan, 2.0, 0.0]}, r"weights\[2\] is not a finite number"),
        ({"covers": [[0, 1], [0, 9], [1, 3], [4]]}, r"covers\[1\]: cell index 9 is out of range"),
        ({"covers": [[0, 1], [0, -1], [1, 3], [4]]}, r"covers\[1\]: cell index -1 is out of range"),
        ({"covers": [[0, 1], [0, 2]]}, r"one list of cells per candidate"),
        ({"backup": [9.0, 0, 0, 0, 0]}, r"backup\[0\].*more than the cell's weight"),
    ],
)
def test_bad_problem_input_is_refused_naming_what_to_fix(kwargs, message):
    args = {"weights": WEIGHTS, "costs": COSTS, "covers": COVERS} | kwargs
    backup = args.pop("backup", None)
    with pytest.raises(ValueError, match=message):
        make_problem(args["weights"], args["costs"], args["covers"], backup=backup)


@pytest.mark.parametrize(
    ("budget", "message"), [(-1, "budget is negative"), (math.nan, "budget is not a finite number"), ("lots", "budget: give")]
)
def test_bad_budget_is_refused(budget, message):
    problem = hand_instance()
    with pytest.raises(ValueError, match=message):
        greedy(problem, budget)
    with pytest.raises(ValueError, match=message):
        exact(problem, budget, time_limit_s=10)


def test_bad_solver_settings_are_refused():
    with pytest.raises(ValueError, match="time_limit_s"):
        exact(hand_instance(), 10, time_limit_s=0)
    with pytest.raises(ValueError, match="mip_gap"):
        exact(hand_instance(), 10, mip_gap=-0.1)


# --- geometry -------------------------------------------------------------------------------------

LON0, LAT0 = 106.70, 10.78
PROJ = Projection(LON0, LAT0)


def square(half: float, cx: float = 0.0, cy: float = 0.0):
    lon, lat = PROJ.to_lonlat(
        np.array([cx - half, cx + half, cx + half, cx - half]), np.array([cy - half, cy - half, cy + half, cy + half])
    )
    return [(float(a), float(b)) for a, b in zip(lon, lat, strict=True)]


def at(x: float, y: float) -> tuple[float, float]:
    lon, lat = PROJ.to_lonlat(x, y)
    return float(lon), float(lat)


def cell_centres(grid, cells):
    return sorted((round(float(grid.x[c]), 6), round(float(grid.y[c]), 6)) for c in cells)


def test_a_sector_covers_the_cells_a_hand_computation_gives():
    # A 100 m square at 25 m cells: centres at -37.5, -12.5, 12.5, 37.5 m east and north of the middle.
    grid = make_grid(square(50.0), cell_size=25.0)
    assert grid.n_cells == 16
    # From the middle, looking east (90°), 100° wide, 40 m: within 50° of east and 40 m:
    # (12.5, ±12.5) at 17.7 m, 45°; (37.5, ±12.5) at 39.5 m, 18.4°. Not (37.5, ±37.5): 53 m;
    # not (12.5, ±37.5): 71.6° off east; nothing west.
    lon, lat = at(0.0, 0.0)
    indptr, cells = sectors_cover(grid, [Sector(lon, lat, heading=90.0, angle=100.0, range_m=40.0)])
    assert indptr.tolist() == [0, 4]
    assert cell_centres(grid, cells) == [(12.5, -12.5), (12.5, 12.5), (37.5, -12.5), (37.5, 12.5)]

    # All round, 20 m: the four centres 17.7 m away. North, 10° wide, 45 m: (-12.5..12.5, 37.5) are 18.4° off.
    _, cells = sectors_cover(grid, [Sector(lon, lat, heading=0.0, angle=360.0, range_m=20.0)])
    assert cell_centres(grid, cells) == [(-12.5, -12.5), (-12.5, 12.5), (12.5, -12.5), (12.5, 12.5)]
    _, cells = sectors_cover(grid, [Sector(lon, lat, heading=0.0, angle=10.0, range_m=45.0)])
    assert cells.tolist() == []


@pytest.mark.parametrize(("angle", "range_m"), [(0.0, 100.0), (90.0, 0.0), (-10.0, 50.0)])
def test_a_zero_width_sector_is_refused(angle, range_m):
    grid = make_grid(square(50.0))
    with pytest.raises(ValueError, match="zero-width sector"):
        sectors_cover(grid, [Sector(LON0, LAT0, 0.0, angle, range_m)])
    with pytest.raises(ValueError, match=r"sites\[0\]: zero-width sector"):
        build_problem(square(50.0), [Site(LON0, LAT0, cost=1, angle=angle, range_m=range_m)])


def test_demand_counts_cases_priority_areas_and_drops_what_cameras_see():
    grid = make_grid(square(50.0), cell_size=25.0)
    case = (*at(-30.0, -30.0), 4.0)  # in the south-west corner cell
    outside = (*at(500.0, 0.0), 100.0)  # across the ward line: left out
    school = PriorityArea(square(20.0, cx=25.0, cy=25.0), multiplier=3.0, add=1.0)  # 5-45 m: four cell centres inside
    camera = Sector(*at(0.0, 0.0), heading=270.0, angle=100.0, range_m=40.0)  # looks west
    w = demand(grid, base_weight=1.0, points=[case, outside], priority_areas=[school], existing=[camera])
    by_centre = {(round(float(grid.x[c]), 6), round(float(grid.y[c]), 6)): float(w[c]) for c in range(grid.n_cells)}
    assert by_centre[(-37.5, -37.5)] == 5.0  # base 1 + case 4
    assert by_centre[(12.5, 12.5)] == 4.0  # 1 * 3 + 1
    assert by_centre[(37.5, 37.5)] == 4.0  # the school square spans 5-45 m: centres 12.5 and 37.5
    assert by_centre[(-12.5, 12.5)] == 0.0  # seen by the camera looking west
    assert by_centre[(37.5, -37.5)] == 1.0
    assert sum(w) == pytest.approx(16 - 4 + 4 + 4 * 3)  # 16 cells of 1, 4 seen, the case, 4 school cells +3 each


def test_already_covered_area_from_geometry_adds_no_gain():
    area = square(100.0)
    lon, lat = at(0.0, 0.0)
    existing = [Sector(lon, lat, heading=90.0, angle=90.0, range_m=60.0)]
    same = Site(lon, lat, cost=10_000_000, heading=90.0, angle=90.0, range_m=60.0)
    other = Site(lon, lat, cost=10_000_000, heading=270.0, angle=90.0, range_m=60.0)
    built = build_problem(area, [same, other], existing=existing)
    assert built.problem.useful.tolist() == [False, True]
    for result in (greedy(built.problem, 100_000_000), exact(built.problem, 100_000_000, time_limit_s=10)):
        assert result.chosen == [1]


def test_try_8_headings_gives_eight_exclusive_variants():
    area = square(100.0)
    lon, lat = at(0.0, 0.0)
    # A hot spot north-east of the pole: the 45° variant sees it.
    hot = (*at(40.0, 40.0), 50.0)
    built = build_problem(
        area, [Site(lon, lat, cost=5, heading=0.0, angle=60.0, range_m=80.0, try_8_headings=True)], points=[hot]
    )
    assert [v.heading for v in built.variants] == [0.0, 45.0, 90.0, 135.0, 180.0, 225.0, 270.0, 315.0]
    assert built.problem.groups.tolist() == [0] * 8
    for result in (greedy(built.problem, 1000), exact(built.problem, 1000, time_limit_s=10)):
        assert len(result.chosen) == 1
        assert built.variants[result.chosen[0]].heading == 45.0


def test_a_site_outside_the_area_is_refused():
    with pytest.raises(ValueError, match=r"sites\[1\].*outside the area"):
        build_problem(square(100.0), [Site(*at(0.0, 0.0), cost=1), Site(*at(500.0, 0.0), cost=1)])


@pytest.mark.parametrize(
    ("area", "message"),
    [
        ([(106.7, 10.78), (106.7, 10.78), (106.71, 10.78)], "at least 3 distinct corners"),
        ([(10.78, 106.7), (10.79, 106.7), (10.79, 106.71)], "not lon/lat"),
        ([(106.7, math.nan), (106.71, 10.78), (106.71, 10.79)], "not a finite number"),
        ("ward", "give a polygon"),
    ],
)
def test_a_bad_area_is_refused(area, message):
    with pytest.raises(ValueError, match=message):
        make_grid(area)


def test_building_a_ward_sized_problem_is_fast():
    # 3 km x 3 km at 25 m: 14,400 cells; 500 sectors. Well under a second even on a loaded machine.
    import time

    rng = np.random.default_rng(3)
    sites = [
        Site(
            *at(*rng.uniform(-1400, 1400, 2)),
            cost=int(rng.integers(8, 45)) * 1_000_000,
            heading=float(rng.uniform(0, 360)),
            angle=90.0,
            range_m=150.0,
        )
        for _ in range(500)
    ]
    start = time.perf_counter()
    built = build_problem(square(1500.0), sites)
    assert time.perf_counter() - start < 1.0
    assert built.problem.n_cells == 14_400
    # A 90° sector of 150 m holds about 28 cells of 25 m (π 150² / 4 / 625).
    per_site = np.diff(built.problem.indptr)
    assert 20 <= float(per_site.mean()) <= 32
