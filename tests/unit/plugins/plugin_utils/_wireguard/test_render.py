"""Human views of a plan (plugins/plugin_utils/_wireguard/render.py): table, summary, JSON, diagrams."""

import io
import json
import re

from ansible_collections.wgops.fleet.plugins.module_utils._wireguard import plan
from ansible_collections.wgops.fleet.plugins.plugin_utils._wireguard import render


def planner(names, **host_values):
    hosts = {
        n: {"wireguard_network": "10.9.0.0/24", "wireguard_endpoint": f"{n}.example.net", **host_values.get(n, {})}
        for n in names
    }
    return plan.build({"hosts": hosts, "groups": {"wireguard": list(names)}})[0]


def test_lazy_plan_is_the_plan_document_host_by_host():
    p = planner(["a", "b", "c"])
    lazy = render.LazyPlan(p)
    assert sorted(lazy) == ["a", "b", "c"] and len(lazy) == 3 and "b" in lazy and "z" not in lazy
    assert {name: lazy[name] for name in lazy} == plan.plan_document(p.all().values())


def test_plan_json_is_one_valid_document_with_a_line_per_host():
    lazy = render.LazyPlan(planner(["b", "a", "c"]))
    out = io.StringIO()
    render.write_plan_json(lazy, out)
    text = out.getvalue()
    assert json.loads(text) == {name: lazy[name] for name in lazy}
    assert [line.split('"')[1] for line in text.splitlines()[1:-1]] == ["a", "b", "c"]


def test_summary_is_a_line_per_host_capped_with_a_count():
    lazy = render.LazyPlan(planner([f"h{i}" for i in range(5)]))
    lines = render.summary(lazy, limit=3).splitlines()
    assert len(lines) == 4
    assert lines[0].startswith("h0  wg0  10.9.0.") and lines[0].endswith("4 peer(s)")
    assert lines[-1].startswith("... and 2 more host(s)")
    assert render.summary(lazy, ["h3", "nope"]).splitlines()[0].startswith("h3 ")


def node_labels(text):
    return dict(re.findall(r'^  (n\d+)\["([^<"]+)', text, re.M))


def test_diagram_keeps_hosts_whose_names_differ_only_in_punctuation_apart():
    text = render.diagram(render.LazyPlan(planner(["db-1", "db_1", "db.1"])), "mermaid")
    labels = node_labels(text)
    assert sorted(labels.values()) == ["db-1", "db.1", "db_1"]
    assert len(set(labels)) == 3
    assert len(re.findall(r"^  n\d+ --- n\d+$", text, re.M)) == 3  # a triangle: three distinct edges


def test_bold_edges_do_not_depend_on_which_side_sorts_first():
    # The router's LAN is in its peers' AllowedIPs toward it; the edge is bold whichever name sorts first.
    for router, other in (("a-router", "z-node"), ("z-router", "a-node")):
        p = planner([router, other], **{router: {"wireguard_routed_subnets": ["192.168.5.0/24"]}})
        text = render.diagram(render.LazyPlan(p), "graphviz")
        assert text.count("[style=bold]") == 1, text
        mermaid = render.diagram(render.LazyPlan(p), "mermaid")
        assert mermaid.count(" === ") == 1, mermaid


def test_diagram_is_deterministic_whatever_the_inventory_order():
    a = render.diagram(render.LazyPlan(planner(["x", "y", "z"])), "graphviz")
    b = render.diagram(render.LazyPlan(planner(["z", "x", "y"])), "graphviz")
    assert a == b


def hub_spoke(spokes, **extra):
    names = ["hub", *spokes]
    hosts = {"hub": {"wireguard_topology": "hub_spoke", "wireguard_hub": True, "wireguard_endpoint": "hub.example.net"}}
    for name in spokes:
        hosts[name] = {"wireguard_topology": "hub_spoke", **extra.get(name, {})}
    for values in hosts.values():
        values["wireguard_network"] = "10.9.0.0/24"
    return plan.build({"hosts": hosts, "groups": {"wireguard": names}})[0]


def test_graphviz_marks_hubs_exit_nodes_and_routed_subnets():
    p = hub_spoke(["gw", "laptop"], gw={"wireguard_routed_subnets": ["192.168.7.0/24"]})
    text = render.diagram(render.LazyPlan(p), "graphviz", render.roles_of(p.hosts))
    assert len(re.findall(r"^  n\d+ \[label=\"hub\\n10\.9\.0\.\d+/24\\nhub\", shape=doubleoctagon.*$", text, re.M)) == 1
    assert 'label="192.168.7.0/24", shape=note' in text
    # the subnet hangs off its router with a dashed edge; both links to the hub are bold (it routes the network)
    gw = re.search(r"^  (n\d+) \[label=\"gw\\n", text, re.M).group(1)
    assert re.search(rf"^  {gw} -- s0 \[style=dashed", text, re.M)
    assert text.count("[style=bold]") == 2
    assert 'label="WireGuard: 3 host(s), 2 tunnel(s)"' in text


def test_a_large_mesh_draws_only_the_links_that_matter_and_counts_the_rest():
    names = [f"h{i:02d}" for i in range(30)]  # 435 links
    p = planner(names, h00={"wireguard_exit_node": True}, h01={"wireguard_via_exit_node": "h00"})
    text = render.diagram(render.LazyPlan(p), "graphviz", render.roles_of(p.hosts))
    drawn = re.findall(r"^  n\d+ -- n\d+", text, re.M)
    assert len(drawn) == 29  # every link of the exit node h00, nothing between plain peers
    assert "435 tunnel(s); 406 direct tunnel(s) between plain peers not drawn" in text
    assert "shape=house" in text
    small = render.diagram(render.LazyPlan(p), "graphviz", render.roles_of(p.hosts), max_edges=1000)
    assert len(re.findall(r"^  n\d+ -- n\d+", small, re.M)) == 435


def test_svg_and_png_are_drawn_by_graphviz(tmp_path):
    p = hub_spoke(["a", "b"], a={"wireguard_routed_subnets": ["192.168.7.0/24"]})
    text = render.diagram(render.LazyPlan(p), "graphviz", render.roles_of(p.hosts))
    render.render_image(text, "svg", str(tmp_path / "t.svg"))
    svg = (tmp_path / "t.svg").read_text()
    assert svg.lstrip().startswith("<?xml") and "<svg" in svg
    # every host and the routed subnet are drawn as text in the picture
    assert all(f">{label}</text>" in svg for label in ("hub", "a", "b", "192.168.7.0/24"))
    render.render_image(text, "png", str(tmp_path / "t.png"))
    assert (tmp_path / "t.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert sorted(x.name for x in tmp_path.iterdir()) == ["t.png", "t.svg"]  # no temporary file left


def test_a_picture_without_graphviz_fails_with_what_to_install(tmp_path, monkeypatch):
    monkeypatch.setattr(render.shutil, "which", lambda name: None)
    try:
        render.render_image("graph x {}", "svg", str(tmp_path / "t.svg"))
    except RuntimeError as exc:
        assert "apt install graphviz" in str(exc) and "t.svg" in str(exc)
    else:
        raise AssertionError("no error without dot")
    assert not list(tmp_path.iterdir())
