"""``accelgen demo``: the comparison, the options, and the whole path on both simulators."""

import json

import numpy as np
import pytest

from accelgen.demo import DemoConfig, Mismatch, first_mismatch, run_demo
from accelgen.demo.report import find_fmax
from accelgen.main import main
from accelgen.sim import runner


def golden_layers(seed=0):
    rng = np.random.default_rng(seed)
    return [
        rng.integers(-300, 300, (5, 12)),
        rng.integers(-300, 300, (5, 4, 3, 3)),  # a feature map layer
        rng.integers(-300, 300, (5, 10)),
    ]


def test_identical_outputs_match():
    g = golden_layers()
    assert first_mismatch("net", [a.copy() for a in g], g) is None


def test_mismatch_names_first_image_layer_and_neuron():
    g = golden_layers()
    rtl = [a.copy() for a in g]
    rtl[2][3, 7] += 1  # image 3, last layer
    rtl[1][3, 2, 1, 0] -= 5  # image 3, earlier layer: this one is reported
    rtl[0][4, 0] += 1  # a later image is not the first
    m = first_mismatch("MLP on EIE", rtl, g, image_ids=[10, 11, 12, 13, 14])
    assert m == Mismatch("MLP on EIE", 13, 1, (2, 1, 0), int(g[1][3, 2, 1, 0]) - 5,
                         int(g[1][3, 2, 1, 0]))  # fmt: skip
    text = str(m)
    assert "image 13" in text and "layer 1" in text and "neuron (2, 1, 0)" in text
    assert m.located


def test_mismatch_in_first_neuron_of_first_image():
    g = golden_layers()
    rtl = [a.copy() for a in g]
    rtl[0][0, 0] = g[0][0, 0] ^ 1
    m = first_mismatch("n", rtl, g)
    assert (m.image, m.layer, m.neuron) == (0, 0, (0,))
    assert "neuron 0:" in str(m)


def test_only_last_layer_returned_is_marked_unlocated():
    g = golden_layers()
    rtl = [None, None, g[2].copy()]
    assert first_mismatch("n", rtl, g) is None
    rtl[2][1, 9] = 32767 if g[2][1, 9] != 32767 else 0
    m = first_mismatch("n", rtl, g)
    assert (m.image, m.layer, m.neuron) == (1, 2, (9,))
    assert not m.located and "not localised" in str(m)


def test_shape_and_layer_count_errors():
    g = golden_layers()
    with pytest.raises(ValueError, match="returned 2 layers, the golden model 3"):
        first_mismatch("n", g[:2], g)
    with pytest.raises(ValueError, match=r"layer 0 RTL output has shape \(5, 11\)"):
        first_mismatch("n", [g[0][:, :11], g[1], g[2]], g)


def test_config_validates_and_round_trips(tmp_path):
    cfg = DemoConfig(simulator="icarus", images=20, pes=4, tn=4, out=str(tmp_path))
    assert cfg.sim_engine == "cocotb" and DemoConfig().sim_engine == "native"
    cfg.save(tmp_path / "demo.json")
    assert DemoConfig.load(tmp_path / "demo.json") == cfg
    for bad, match in (
        ({"pes": 6}, "pes must be a power of two in 1..256, got 6"),
        ({"tn": 32}, "tn must be a power of two in 2..16, got 32"),
        ({"images": 0}, "images must be at least 1, got 0"),
        ({"clock_mhz": -1.0}, "clock_mhz must be a positive number, got -1.0"),
        ({"simulator": "modelsim"}, "simulator must be one of"),
        ({"jobs": 0}, "jobs must be in 1..64, got 0"),
        ({"engine": "native", "simulator": "icarus"}, "engine native needs simulator verilator"),
        ({"engine": "native", "waves": True}, "engine native needs simulator verilator"),
        ({"engine": "fast"}, "engine must be one of"),
    ):
        with pytest.raises(ValueError, match=match):
            DemoConfig(**bad)


def test_cli_rejects_bad_options_before_simulating(tmp_path, capsys):
    tmp_path = tmp_path / "out"
    assert main(["demo", "--images", "0", "-o", str(tmp_path)]) == 2
    assert "images must be at least 1, got 0" in capsys.readouterr().err
    assert main(["demo", "--images", "100000", "-o", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "images must be at most" in err and "got 100000" in err
    assert not tmp_path.exists()


def write_synth_report(path, design, target, config, fmax):
    path.mkdir(parents=True)
    report = {"design": design, "target": target, "device": "85k", "design_config": config}
    if fmax is not None:
        report["timing"] = {"fmax_mhz": fmax}
    (path / "report.json").write_text(json.dumps(report))


def test_find_fmax_prefers_same_config_then_ecp5(tmp_path):
    assert find_fmax("eie", {"n_pes": 8}, roots=[tmp_path / "missing"]) is None
    write_synth_report(tmp_path / "a", "eie", "ice40", {"n_pes": 1}, 40.0)
    write_synth_report(tmp_path / "b", "eie", "ecp5", {"n_pes": 4}, 90.0)
    write_synth_report(tmp_path / "c", "diannao", "ecp5", {"tn": 8}, 70.0)
    write_synth_report(tmp_path / "d", "eie", "ecp5", {"n_pes": 16}, None)  # no timing
    (tmp_path / "e").mkdir()
    (tmp_path / "e" / "report.json").write_text("{not json")
    got = find_fmax("eie", {"n_pes": 8}, roots=[tmp_path])
    assert (got["fmax_mhz"], got["target"], got["same_config"]) == (90.0, "ecp5", False)
    got = find_fmax("eie", {"n_pes": 1}, roots=[tmp_path])
    assert (got["fmax_mhz"], got["same_config"]) == (40.0, True)
    assert find_fmax("diannao", None, roots=[tmp_path])["fmax_mhz"] == 70.0


def test_find_fmax_ignores_the_bus_wrapped_runs(tmp_path):
    """`make synth` also synthesizes the cores behind their AXI wrapper (``eie-n4-axi-ecp5``,
    sorted before ``eie-n4-ecp5``); that Fmax is the wrapped design's, not the core's."""
    write_synth_report(tmp_path / "eie-n4-axi-ecp5", "eie", "ecp5", {"n_pes": 4}, 74.66)
    write_synth_report(tmp_path / "eie-n4-ecp5", "eie", "ecp5", {"n_pes": 4}, 104.32)
    for name, top in (("eie-n4-axi-ecp5", "eie_axi"), ("eie-n4-ecp5", "eie_top")):
        path = tmp_path / name / "report.json"
        path.write_text(json.dumps({**json.loads(path.read_text()), "top": top}))
    got = find_fmax("eie", {"n_pes": 8}, roots=[tmp_path])
    assert got["fmax_mhz"] == 104.32 and got["path"].endswith("eie-n4-ecp5/report.json")
    (tmp_path / "eie-n4-ecp5" / "report.json").unlink()
    assert find_fmax("eie", {"n_pes": 4}, roots=[tmp_path]) is None


@pytest.fixture(scope="module")
def golden_subset():
    """The demo's first 20 test images and the golden outputs, computed here independently."""
    from accelgen.golden import models
    from accelgen.golden.netspec import run_dense, run_eie
    from accelgen.spec.diannao import DianNaoConfig
    from accelgen.spec.eie import EIEConfig

    n = 20
    mlp = models.digits_mlp(num=EIEConfig(n_pes=8).numerics)
    cnn = models.digits_cnn(8, num=DianNaoConfig(tn=8).numerics)
    data = models.digits_data(mlp.numerics)
    return {
        "labels": data.y[:n],
        "mlp_eie": run_eie(mlp.layers, data.x[:n], num=mlp.numerics, n_pes=8)[-1],
        "cnn_diannao": run_dense(cnn.layers, data.images[:n], num=cnn.numerics, group=8)[-1],
    }


@pytest.mark.parametrize("simulator", runner.default_simulators())
def test_demo_on_rtl_is_bit_exact(simulator, tmp_path, golden_subset):
    # two pieces per network over two worker processes: the pieces of both networks interleave
    # and finish out of order, so the reassembled outputs check the bookkeeping too
    cfg = DemoConfig(simulator=simulator, images=20, out=str(tmp_path), chunks=2, jobs=2)
    log: list[str] = []
    result = run_demo(cfg, log=log.append, progress=False)
    assert [line[:5] for line in log if line.startswith("[")] == [
        "[1/5]", "[2/5]", "[3/5]", "[4/5]", "[5/5]"
    ]  # fmt: skip
    labels = golden_subset["labels"]
    report = json.loads((tmp_path / "report.json").read_text())
    for key in ("mlp_eie", "cnn_diannao"):
        golden = golden_subset[key]
        np.testing.assert_array_equal(result.rtl_outputs[key], golden)
        net = report["networks"][key]
        assert net["bit_exact"] and net["mismatch"] is None
        accuracy = float(np.mean(golden.argmax(-1) == labels))
        assert net["accuracy"]["rtl"] == accuracy == net["accuracy"]["golden_on_images"]
        assert net["predictions"] == golden.argmax(-1).tolist()
        for field in ("float", "fixed"):
            assert 0.9 < net["accuracy"][field] <= 1.0
        cycles = net["cycles"]
        assert cycles["per_inference_min"] > 0
        # EIE's total also counts the start/done handshake around the layers
        assert 0 < sum(cycles["per_layer_mean"]) <= cycles["per_inference_mean"]
        assert net["throughput"]["inferences_per_s"] == pytest.approx(
            200e6 / cycles["per_inference_mean"]
        )
        assert net["energy"]["total_pj"] > 0
        # the energy model's counts are the work the RTL's counters measured
        check = net["energy_counts_check"]
        assert check["equal"], check
        assert (tmp_path / key.split("_")[1] / "config.json").is_file()
        assert net["artefacts"]["verilog"].endswith(".v")
        assert (tmp_path / net["artefacts"]["verilog"]).is_file()
        # the native engine by default on Verilator, cocotb on Icarus; the speed is reported
        sim = net["simulation"]
        assert sim["engine"] == ("native" if simulator == "verilator" else "cocotb")
        assert sim["core_cycles_per_s"] > 0
    mlp, cnn = report["networks"]["mlp_eie"], report["networks"]["cnn_diannao"]
    assert mlp["weight_density"] < 0.15 and mlp["compression_ratio"] > 8
    assert 0 < mlp["eie_load_efficiency"]["mean_pe"] <= mlp["eie_load_efficiency"]["max_pe"] <= 1
    assert 0 < cnn["nfu_utilization"]["mean"] <= 1
    # keeping the weights on chip beats fetching them from DRAM (docs/papers.md, energy)
    assert mlp["energy"]["total_pj"] < mlp["energy"]["dense_dram_baseline_pj"]
    md = (tmp_path / "report.md").read_text()
    for text in ("RTL accuracy", "EIE load efficiency", "NFU utilization", "Horowitz ISSCC 2014"):
        assert text in md
    for png in report["plots"]:
        assert (tmp_path / png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_cli_exits_1_naming_the_mismatch(tmp_path, monkeypatch, capsys):
    import accelgen.demo as demo

    def corrupted(cfg, **kwargs):
        raise demo.DemoMismatch(Mismatch("CNN on DianNao", 7, 2, (3, 1, 0), 5, 4), {})

    monkeypatch.setattr(demo, "run_demo", corrupted)
    assert main(["demo", "-o", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert "FAILED" in err and "image 7, layer 2, neuron (3, 1, 0): RTL 5, golden 4" in err


def test_localise_reruns_layers_to_find_the_first_wrong_one():
    from accelgen.demo.running import Network, localise

    g = golden_layers()
    x = np.zeros((5, 3), dtype=np.int64)
    net = Network("k", "net", "eie", [None] * 3, x, g)
    last_only = first_mismatch("net", [None, None, g[2] + 1], g)
    assert not last_only.located

    def rtl_layer(i, x_in):  # layer 1 is wrong for every input, at one neuron
        row = next(
            r for r in range(5) if np.array_equal(x_in, (x if i == 0 else g[i - 1])[r : r + 1])
        )
        y = g[i][row : row + 1].copy()
        if i == 1:
            y[0, 3, 2, 2] += 9
        return y

    m = localise(net, last_only, rtl_layer)
    assert (m.image, m.layer, m.neuron, m.located) == (0, 1, (3, 2, 2), True)
    assert m.rtl == m.golden + 9
