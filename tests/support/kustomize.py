"""A small `kustomize build` for the features deploy/kubernetes uses: resources, namespace,
images, replicas and strategic-merge patches (lists of named items merged by name)."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import yaml

Doc = dict[str, Any]


def _merge(base: Any, patch: Any) -> Any:
    if isinstance(base, dict) and isinstance(patch, dict):
        merged = dict(base)
        for key, value in patch.items():
            merged[key] = _merge(base[key], value) if key in base else copy.deepcopy(value)
        return merged
    if (
        isinstance(base, list)
        and isinstance(patch, list)
        and all(isinstance(i, dict) and "name" in i for i in [*base, *patch])
    ):
        by_name = {item["name"]: item for item in base}
        out = [_merge(by_name[i["name"]], i) if i["name"] in by_name else i for i in patch]
        patched = {i["name"] for i in patch}
        return [item for item in base if item["name"] not in patched] + out
    return copy.deepcopy(patch)


def _containers(doc: Doc) -> list[Doc]:
    spec = doc.get("spec", {}).get("template", {}).get("spec", {})
    return list(spec.get("containers", [])) + list(spec.get("initContainers", []))


def build(path: Path) -> list[Doc]:
    kustomization = yaml.safe_load((path / "kustomization.yaml").read_text())
    docs: list[Doc] = []
    for resource in kustomization.get("resources", []):
        target = (path / resource).resolve()
        if target.is_dir():
            docs += build(target)
        else:
            docs += [d for d in yaml.safe_load_all(target.read_text()) if d]
    for patch_ref in kustomization.get("patches", []):
        patch = yaml.safe_load((path / patch_ref["path"]).read_text())
        for i, doc in enumerate(docs):
            if (
                doc["kind"] == patch["kind"]
                and doc["metadata"]["name"] == patch["metadata"]["name"]
            ):
                docs[i] = _merge(doc, patch)
    for image in kustomization.get("images", []):
        for doc in docs:
            for container in _containers(doc):
                name, _, tag = container["image"].partition(":")
                if name == image["name"]:
                    container["image"] = (
                        f"{image.get('newName', name)}:{image.get('newTag', tag or 'latest')}"
                    )
    for replica in kustomization.get("replicas", []):
        for doc in docs:
            if doc["kind"] == "Deployment" and doc["metadata"]["name"] == replica["name"]:
                doc["spec"]["replicas"] = replica["count"]
    if kustomization.get("namespace"):
        for doc in docs:
            doc["metadata"]["namespace"] = kustomization["namespace"]
    return docs
