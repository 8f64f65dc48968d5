"""The layout's rules (README: "Where things live"): the layers point one way (tools -> models ->
data_prep), no module imports itself round a circle, no tool imports another tool, and the
tests of the packages never import a tool."""
import ast
import importlib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("data_prep", "models", "tools")
LAYER = {"data_prep": 0, "models": 1, "tools": 2}
SHARED_BENCH_MODULE = "tools.bench.benchlib"  # what the benchmarks share; not a tool itself
SHARED_FLAGS_MODULE = "tools.flags"  # the flags the tools share; not a tool itself


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for package in PACKAGES for p in sorted((ROOT / package).rglob("*.py"))}


def imported(path: Path) -> set[str]:
    """The project modules a file imports anywhere in it (functions' lazy imports included)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        names = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [f"{node.module}.{alias.name}" for alias in node.names] + [node.module]
        for name in names:
            while name and name not in MODULES:
                name = name.rpartition(".")[0]
            if name and name not in PACKAGES:
                found.add(name)
    return found


GRAPH = {name: imported(path) - {name} for name, path in MODULES.items()}


def test_the_walk_sees_the_project():
    assert len(MODULES) > 50
    assert "models.nets.cnn_m_2048" in GRAPH["models.train.loop"]
    assert "data_prep.flow.brox" in GRAPH["data_prep.flow.brox_batch"]


@pytest.mark.parametrize("name", sorted(MODULES))
def test_every_module_imports(name):
    importlib.import_module(name)


def test_no_import_circle():
    state, path = {}, []

    def visit(node):
        state[node] = "open"
        path.append(node)
        for other in sorted(GRAPH[node]):
            if state.get(other) == "open":
                raise AssertionError(" -> ".join(path[path.index(other):] + [other]))
            if other not in state:
                visit(other)
        path.pop()
        state[node] = "done"

    for name in sorted(GRAPH):
        if name not in state:
            visit(name)


def test_layers_point_down_only():
    upward = [f"{a} imports {b}" for a, targets in GRAPH.items() for b in targets
              if LAYER[b.split(".")[0]] > LAYER[a.split(".")[0]]]
    assert upward == []


def test_no_tool_imports_another_tool():
    crossing = [f"{a} imports {b}" for a, targets in GRAPH.items() if a.startswith("tools.")
                for b in targets if b.startswith("tools.")
                and b not in (SHARED_BENCH_MODULE, SHARED_FLAGS_MODULE)]
    assert crossing == []
    users = sorted(a for a, targets in GRAPH.items() if SHARED_BENCH_MODULE in targets)
    assert users and all(a.rpartition(".")[2].startswith("bench") for a in users)
    assert not {b for b in GRAPH[SHARED_FLAGS_MODULE] if b.startswith("tools")}
    assert {"tools.train_net", "tools.score_net", "tools.export_model", "tools.extract"} <= {
        a for a, targets in GRAPH.items() if SHARED_FLAGS_MODULE in targets}


# What starts a program from Python: a package that calls one of these runs something outside
# the library (a tool, a script); the packages run their work as calls, in processes of
# multiprocessing where they need them.
RUNNERS = {("subprocess", None), ("os", "system"), ("os", "popen"), ("os", "execv"),
           ("os", "execvp"), ("os", "execl"), ("os", "spawnv"), ("os", "posix_spawn")}


def program_runs(path: Path) -> list[str]:
    """The lines of a file that import subprocess, call a RUNNERS function, or build a path
    with a "tools" folder in it."""
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                [node.module or ""]
            if "subprocess" in names:
                found.append(f"{path.name}:{node.lineno} imports subprocess")
        elif isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and \
                (node.value.id, node.attr) in RUNNERS:
            found.append(f"{path.name}:{node.lineno} calls {node.value.id}.{node.attr}")
        elif isinstance(node, ast.Constant) and node.value in ("tools", "tools/"):
            found.append(f"{path.name}:{node.lineno} names the tools folder")
    return found


def test_the_packages_run_no_tool_and_no_program():
    found = [line for package in ("data_prep", "models")
             for path in sorted((ROOT / package).rglob("*.py")) for line in program_runs(path)]
    assert found == []


def test_the_program_walk_sees_what_it_forbids(tmp_path):
    path = tmp_path / "m.py"
    path.write_text('import subprocess\nimport os\nos.system("x")\n'
                    'p = ROOT / "tools" / "extract.py"\n')
    assert program_runs(path) == ["m.py:1 imports subprocess", "m.py:3 calls os.system",
                                  "m.py:4 names the tools folder"]


def test_the_packages_tests_import_no_tool():
    for package in ("data_prep", "models"):
        for path in (ROOT / "tests" / package).rglob("*.py"):
            assert not {m for m in imported(path) if m.startswith("tools")}, path


def test_tools_are_grouped_by_purpose():
    """The users' commands at tools/; set-up, the GPU kit and check, and the benchmarks each in
    a folder of their own (README: "Where things live")."""
    top = {p.name for p in (ROOT / "tools").iterdir() if p.is_file()}
    assert {"extract.py", "train_net.py", "score_net.py", "fuse_scores.py", "report.py",
            "export_model.py", "classify_video.py", "demo.py"} <= top
    assert not {n for n in top if n.startswith("bench") or "gpu_kit" in n or "gpu_check" in n}
    assert {n for n in top if n.endswith(".sh")} == {"fetch_opencv_clips.sh"}
    assert {"install_system_packages.sh", "make_venv.sh", "build_caffe.sh", "debian_apt.sh",
            "caffe_patches"} <= {p.name for p in (ROOT / "tools" / "setup").iterdir()}
    assert {"gpu_kit.sh", "gpu_check.sh", "gpu_rehearsal.sh", "check_gpu.py"} <= {
        p.name for p in (ROOT / "tools" / "gpu").iterdir()}
    bench = {p.stem for p in (ROOT / "tools" / "bench").glob("*.py")} - {"__init__"}
    assert bench and all(n.startswith("bench") for n in bench)
