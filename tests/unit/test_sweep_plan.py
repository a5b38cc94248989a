"""Run ids and member keys: stable across re-runs, unique within a sweep, documented shape."""

from rompy.config import check_run_id
from rompy.sweep.plan import member_key, member_run_id, plan_members, sweep_id_from, varying_keys


def test_run_ids_are_stable_and_unique():
    members = [["model.depths=[10]", "backend.timeout=60"], ["model.depths=[10]", "backend.timeout=120"],
               ["model.depths=[20]", "backend.timeout=60"], ["model.depths=[20]", "backend.timeout=120"]]
    first = [j.run_id for j in plan_members(members, "20240101-000000")]
    again = [j.run_id for j in plan_members(members, "20240101-000000")]
    assert first == again
    assert len(set(first)) == 4
    for run_id in first:
        check_run_id(run_id)
        assert run_id.startswith("20240101-000000-")
    assert first[0] == f"20240101-000000-depths-10_timeout-60-{member_key(members[0])}"


def test_key_ignores_order_and_sweep_or_hydra_overrides():
    assert member_key(["a=1", "b=2"]) == member_key(["b=2", "a=1"])
    assert member_key(["a=1", "sweep.resume=true", "hydra.job.name=x"]) == member_key(["a=1"])
    assert member_key(["a=1"]) != member_key(["a=2"])


def test_slug_shows_only_what_varies_and_stays_short():
    members = [["output_dir=/x", "backend.command='true'", f"+backend.env_vars.M={i}"] for i in range(3)]
    assert varying_keys(members) == {"backend.env_vars.M"}
    job = plan_members(members, "s")[1]
    assert job.run_id == f"s-M-1-{job.key}"
    long = ["model.depths=[" + ",".join(str(i) for i in range(100)) + "]"]
    run_id = member_run_id("s", long, {"model.depths"})
    assert len(run_id) < 80
    check_run_id(run_id)


def test_injected_overrides_and_own_run_ids():
    jobs = plan_members([["a=1"], ["run_id=mine", "a=2"]], "s", replace_run_dirs=True)
    assert jobs[0].launch_overrides == ["a=1", f"run_id='{jobs[0].run_id}'", "delete_existing=true"]
    assert jobs[1].run_id == "mine"
    assert jobs[1].launch_overrides == ["run_id=mine", "a=2", "delete_existing=true"]


def test_one_run_id_for_every_member_names_the_sweep_not_each_member():
    """`-m a=1,2 run_id=ens` gave both members the run id `ens`: the second found its directory taken."""
    jobs = plan_members([["a=1", "run_id=ens"], ["a=2", "run_id=ens"]], "ens")
    assert [job.run_id for job in jobs] == [f"ens-a-1-{jobs[0].key}", f"ens-a-2-{jobs[1].key}"]
    for job in jobs:  # the member's own id comes last, so it wins over the sweep's
        assert job.launch_overrides == [*job.overrides, f"run_id='{job.run_id}'"]
    swept = plan_members([["run_id=x"], ["run_id=y"]], "s")
    assert [job.run_id for job in swept] == ["x", "y"]
    assert [job.launch_overrides for job in swept] == [["run_id=x"], ["run_id=y"]]
    twice = plan_members([["run_id=x", "a=1"], ["run_id=x", "a=1"], ["a=2"]], "s")
    assert twice[1].run_id == "x-1" and twice[1].launch_overrides[-1] == "run_id='x-1'"
    crossed = plan_members([["run_id=x", "a=1"], ["run_id=x", "a=2"], ["run_id=y", "a=1"]], "s")
    assert [job.run_id for job in crossed] == [f"x-a-1-{crossed[0].key}", f"x-a-2-{crossed[1].key}", "y"]
    assert crossed[0].launch_overrides[-1] == f"run_id='{crossed[0].run_id}'"


def test_duplicate_members_get_distinct_ids():
    jobs = plan_members([["a=1"], ["a=1"]], "s")
    assert jobs[0].run_id != jobs[1].run_id and jobs[0].key != jobs[1].key


def test_sweep_id():
    assert sweep_id_from(None, "/x/output/sweeps/20240101-120000") == "20240101-120000"
    assert sweep_id_from("ens1", "/x/sweeps/whatever") == "ens1"
    assert sweep_id_from(None, "/x/we ird!!name") == "we-ird-name"
