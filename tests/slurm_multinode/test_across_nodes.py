"""Sweeps on the emulated many-node SLURM cluster (scripts/services/slurm-multinode.sh): members spread over
nodes, multi-node members run their tasks on distinct nodes, and the records say where each member ran.

Every node of that cluster is one slurmd on this machine under the same hostname, so a job learns its
node from SLURM (SLURMD_NODENAME, or its step's node list and SLURM_NODEID), never from `hostname`.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path

import pytest

from tests.helpers.slurm import sacct, sacct_eventually

pytestmark = pytest.mark.slurm

FAST = ["hydra.launcher.poll_s=0.2", "hydra.launcher.status_interval_s=0.5"]
NODE = re.compile(r"^n\d+$")

# Each task prints its rank and its node. Under MPICH's mpiexec every rank inherits the batch
# script's SLURMD_NODENAME, so the node is looked up from the step's node list and the node index
# SLURM gives each node's tasks.
WHERE = """\
rank=${PMI_RANK:-$SLURM_PROCID}
node=$(scontrol show hostnames "$SLURM_STEP_NODELIST" | sed -n "$((SLURM_NODEID + 1))p")
echo "rank $rank on $node"
"""


def test_slurm_launcher_spreads_a_sweeps_array_tasks_over_many_nodes(sweep, slurm_multinode):
    # Each member asks for a whole node (2 CPUs), so members running together cannot share one.
    proc = sweep.run("hydra/launcher=slurm", *FAST, "backend.cpu=2", "backend.command='true'",
                     "+backend.env_vars.M=range(0,20)")
    assert proc.returncode == 0, proc.stderr
    members = sweep.summary()["members"]
    assert [m["status"] for m in members] == ["succeeded"] * 20
    hosts = {m["member"]: m["details"]["host"] for m in members}
    assert all(NODE.match(host) for host in hosts.values()), hosts
    assert len(set(hosts.values())) >= 10, f"20 whole-node members ran on only {sorted(set(hosts.values()))}"
    # SLURM's accounting on the many-node cluster agrees with where each member says it ran.
    job_ids = {m["member"]: m["details"]["slurm_job_id"] for m in members}
    assert len({job_id.split("_")[0] for job_id in job_ids.values()}) == 1, "one array"
    for member, job_id in job_ids.items():
        assert sacct_eventually(job_id, "NodeList", hosts[member]), (job_id, sacct(job_id, "NodeList"), hosts[member])


@pytest.mark.parametrize("mpiexec", ["srun", "mpiexec"])
def test_multi_node_members_run_on_distinct_nodes_and_their_records_say_which(sweep, slurm_multinode, mpiexec):
    where = sweep.root / "where.sh"
    where.write_text(WHERE)
    proc = sweep.run("backend=slurm", "backend.queue=compute", "backend.nodes=3", "backend.ntasks=6",
                     f"backend.mpiexec={mpiexec}", f"backend.command='sh {where}'", "+backend.env_vars.M=0,1")
    assert proc.returncode == 0, proc.stderr
    members = sweep.summary()["members"]
    assert [m["status"] for m in members] == ["succeeded", "succeeded"]
    for member in members:
        record = json.loads(Path(member["run_dir"], "rompy-result.json").read_text())
        details = record["backend"]["details"]
        nodes = details["nodes"]
        assert len(nodes) == 3 and len(set(nodes)) == 3 and all(NODE.match(n) for n in nodes), details
        assert details["partition"] == "compute" and details["node"] == nodes[0]
        # The six ranks ran two a node on exactly the nodes the record names.
        lines = Path(member["run_dir"], "logs", "stdout.log").read_text().splitlines()
        ranks = dict(re.fullmatch(r"rank (\d+) on (n\d+)", line).groups() for line in lines)
        assert sorted(ranks, key=int) == [str(r) for r in range(6)], lines
        assert Counter(ranks.values()) == {node: 2 for node in nodes}, (lines, nodes)
        assert sacct_eventually(details["slurm_job_id"], "NNodes", "3")
    assert members[0]["run_dir"] != members[1]["run_dir"]
