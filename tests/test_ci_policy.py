"""The CI skip policy: a missing server skips on a laptop and fails under any true-ish CI."""

from __future__ import annotations

import pytest

from tests.support.ci import in_ci, need_server
from tests.support.synapse import provision_synapse
from tests.synapse.homeserver import SynapseServer, SynapseUnavailable


@pytest.mark.parametrize("value", ["1", "true", "TRUE", "True", "yes", "YES", "on", "On", " true "])
def test_true_ish_ci_counts(value: str) -> None:
    assert in_ci({"CI": value})


@pytest.mark.parametrize("value", ["", "0", "false", "no", "off", "FALSE", "nope"])
def test_false_ish_or_missing_ci_does_not(value: str) -> None:
    assert not in_ci({"CI": value})
    assert not in_ci({})


def test_in_ci_reads_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CI", "1")
    assert in_ci()
    monkeypatch.delenv("CI")
    assert not in_ci()


@pytest.mark.parametrize("value", ["1", "true", "yes", "on"])
def test_missing_server_fails_under_ci(value: str) -> None:
    with pytest.raises(pytest.fail.Exception, match="unavailable under CI: no initdb"):
        need_server("no initdb", {"CI": value})


def test_missing_server_skips_elsewhere() -> None:
    with pytest.raises(pytest.skip.Exception, match="no initdb"):
        need_server("no initdb", {})


def _unavailable() -> SynapseServer:
    raise SynapseUnavailable("pip could not reach PyPI")


def _buggy() -> SynapseServer:
    raise KeyError("listeners")


def test_unavailable_synapse_fails_under_ci_with_the_reason(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CI", "1")
    with pytest.raises(pytest.fail.Exception, match="pip could not reach PyPI"):
        provision_synapse(_unavailable)


def test_unavailable_synapse_skips_elsewhere(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="pip could not reach PyPI"):
        provision_synapse(_unavailable)


@pytest.mark.parametrize("ci", ["1", None])
def test_a_provisioning_bug_is_never_a_skip(monkeypatch: pytest.MonkeyPatch, ci: str | None) -> None:
    if ci is None:
        monkeypatch.delenv("CI", raising=False)
    else:
        monkeypatch.setenv("CI", ci)
    with pytest.raises(KeyError, match="listeners"):
        provision_synapse(_buggy)
