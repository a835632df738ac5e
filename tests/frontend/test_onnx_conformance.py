"""Per-op conformance on the ONNX package's node test cases (``docs/onnx.md`` has the table)."""

from __future__ import annotations

import pytest

from accelgen.frontend.conformance import conformance, markdown

# Cases that must keep passing (the table in docs/onnx.md lists all of them and the rejections).
MUST_PASS = {
    "test_basic_conv_with_padding",
    "test_basic_conv_without_padding",
    "test_conv_with_autopad_same",
    "test_conv_with_strides_no_padding",
    "test_conv_with_strides_padding",
    "test_batchnorm_epsilon",
    "test_batchnorm_example",
    "test_gemm_alpha",
    "test_gemm_beta",
    "test_gemm_default_no_bias",
    "test_gemm_default_scalar_bias",
    "test_gemm_default_single_elem_vector_bias",
    "test_gemm_default_vector_bias",
    "test_gemm_default_zero_bias",
    "test_gemm_transposeB",
    "test_matmul_2d",
    "test_maxpool_2d_default",
    "test_maxpool_2d_strides",
    "test_maxpool_2d_precomputed_strides",
    "test_averagepool_2d_default",
    "test_averagepool_2d_strides",
    "test_globalaveragepool",
    "test_globalaveragepool_precomputed",
    "test_relu",
    "test_sigmoid",
    "test_tanh",
    "test_flatten_axis1",
    "test_dropout_default",
    "test_identity",
    "test_softmax_example",
    "test_logsoftmax_example_1",
    "test_lstm_defaults",
    "test_lstm_with_initial_bias",
    "test_lstm_batchwise",
}


@pytest.fixture(scope="module")
def results():
    return conformance()


def test_no_case_fails(results):
    failed = [r.case for r in results if r.status == "fail"]
    assert not failed


def test_expected_cases_pass(results):
    passed = {r.case for r in results if r.status == "pass"}
    assert MUST_PASS <= passed, sorted(MUST_PASS - passed)


def test_rejections_name_a_reason(results):
    for r in results:
        if r.status == "rejected":
            assert r.note and "\n" not in r.note
    assert "| pass |" in markdown(results)
